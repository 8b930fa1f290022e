#include <stdio.h>
#include <stdlib.h>
#include "tables.h"

static const char *yes(int c) { return c ? "yes" : "NO"; }

int main(void)
{
    /* Function pointers from another object's data, equal to ours. */
    printf("op_table[0].fn == op_add: %s\n", yes(op_table[0].fn == op_add));
    printf("op_table[0].fn == ops_self_add(): %s\n", yes(op_table[0].fn == ops_self_add()));
    printf("ops_local_table[2] == op_mul: %s\n", yes(ops_local_table[2] == op_mul));
    printf("op_by_index[5] == op_table[0].fn: %s\n", yes(op_by_index[5] == op_table[0].fn));
    printf("*op_cursor == op_div: %s\n", yes(*op_cursor == op_div));
    printf("default_cmp == cmp_record_name: %s\n", yes(default_cmp == cmp_record_name));
    int distinct = 0;
    for (size_t i = 0; i < op_table_len; i++)
        for (size_t j = 0; j < op_table_len; j++)
            distinct += (i != j) && (op_table[i].fn != op_table[j].fn);
    printf("distinct pairs: %d\n", distinct);

    for (size_t i = 0; i < op_table_len; i++) {
        const struct op_entry *e = &op_table[i];
        printf("%s %c: 17,5 -> %ld via table, %ld via ops_self, %ld via op_by_index\n",
               e->name, e->symbol, e->fn(17, 5), ops_self((int)i)(17, 5),
               op_by_index[op_table_len - 1 - i](17, 5));
    }

    /* Writable table updated from here, read back in table.c's pointer. */
    op_by_index[2] = op_add;
    printf("after update: (*op_cursor)(40, 2) = %ld\n", (*op_cursor)(40, 2));

    for (int op = 0; op <= 16; op++)
        printf("opcode %2d %-5s eval(37, 4) = %ld\n", op, opcode_name(op), eval_opcode(op, 37, 4));

    struct record recs[] = {
        { "mercury", 40 }, { "venus", 72 }, { "earth", 100 }, { "mars", 72 },
        { "jupiter", 95 }, { "saturn", 40 }, { "uranus", 13 }, { "neptune", 57 },
    };
    size_t n = sizeof recs / sizeof recs[0];
    qsort(recs, n, sizeof recs[0], cmp_record_score);
    printf("by score:");
    for (size_t i = 0; i < n; i++)
        printf(" %s=%d", recs[i].name, recs[i].score);
    printf("\n");
    qsort(recs, n, sizeof recs[0], default_cmp);
    printf("by name:");
    for (size_t i = 0; i < n; i++)
        printf(" %s", recs[i].name);
    printf("\n");
    struct record key = { "neptune", 0 };
    struct record *hit = bsearch(&key, recs, n, sizeof recs[0], cmp_record_name);
    printf("bsearch neptune: %s\n", hit ? hit->name : "(none)");

    long nums[64];
    unsigned long seed = 12345;
    for (int i = 0; i < 64; i++) {
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        nums[i] = (long)(seed >> 40) - (1L << 23);
    }
    qsort(nums, 64, sizeof nums[0], cmp_long);
    printf("nums: min=%ld max=%ld median=%ld\n", nums[0], nums[63], nums[32]);
    return 0;
}
