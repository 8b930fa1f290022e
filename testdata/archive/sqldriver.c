/* `relink run -l m sqldriver.o libsqlite3.a` (x86-64): SQL through the system's
 * static SQLite; the test compares the output with this program linked to the
 * host's libsqlite3.so. */
#include <sqlite3.h>
#include <stdio.h>

static int row(void *user, int n, char **values, char **columns) {
  (void)user;
  for (int i = 0; i < n; i++) printf("%s=%s ", columns[i], values[i] ? values[i] : "NULL");
  printf("\n");
  return 0;
}

int main(void) {
  sqlite3 *db;
  char *err = 0;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
  const char *sql =
      "create table t(a integer primary key, b text, c real);"
      "with recursive n(i) as (select 1 union all select i + 1 from n where i < 500)"
      "  insert into t select i, printf('row%03d', i), i * 0.5 from n;"
      "create index tb on t(b);"
      "select count(*), sum(a), round(avg(c), 3), min(b), max(b) from t;"
      "select a, b, round(sqrt(c), 4) as r, a % 7 as m from t where b like 'row04%' order by a desc limit 4;"
      "select m, count(*), group_concat(a) from (select a, a % 5 as m from t where a < 23) group by m;"
      "select upper('relink'), length(zeroblob(100)), typeof(1.5), 7 / 2, 7.0 / 2;"
      "update t set c = c * 2 where a % 100 = 0; select a, c from t where a % 100 = 0;"
      "select json_object('a', 1, 'b', json_array(1, 2, 'x')), datetime(0, 'unixepoch');";
  if (sqlite3_exec(db, sql, row, 0, &err) != SQLITE_OK) {
    printf("error: %s\n", err);
    return 2;
  }
  printf("version %s\n", sqlite3_libversion());
  sqlite3_close(db);
  return 0;
}
