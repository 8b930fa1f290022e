/* A small REPL around relink's C API: load objects, call entries, watch files
 * and hot-replace them when they change.
 *
 *   cc -O2 host.c $(pkg-config --cflags --libs relink) -o host
 *   ./host [SCRIPT]            (commands from SCRIPT, or from stdin)
 *
 * Commands, one a line ('#' starts a comment):
 *   load PATH                 load an object file; prints its id
 *   bytes NAME PATH           load an object from memory (read from PATH)
 *   archive PATH              link the members of an archive that are needed
 *   lib NAME                  make a shared library's symbols available (-l NAME)
 *   define NAME               define a host symbol: host_scale (a function), host_offset (an int)
 *   call NAME [N]             call `int NAME(int)` with N (default 0)
 *   peek NAME                 print the int variable NAME
 *   undefined                 list referenced symbols nothing defines
 *   check                     check that every referenced symbol is defined
 *   where NAME                call `uintptr_t NAME(void)` and symbolize the address it returns
 *   replace ID PATH [keep]    hot-replace object ID with PATH (keep: keep variables' state)
 *   unload ID                 unload object ID
 *   reclaim                   free the code of replaced and unloaded versions
 *   watch ID PATH [keep]      watch PATH: `poll` and `run` replace ID when it changes
 *   poll                      replace the watched objects whose files changed
 *   run NAME COUNT [MS]       COUNT times: poll, call `int NAME(int)` with 0, 1, ..., sleep MS
 *   copy FROM TO              copy a file (to a temporary, renamed over TO), as an editor saves
 *   quit
 *
 * Only one thread here, so no lock: relink_reclaim runs between calls into
 * loaded code, when no thread can be inside a retired version. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "relink.h"

typedef int (*int_fn)(int);
typedef uintptr_t (*pc_fn)(void);

int host_offset = 1000;
static int host_scale(int x) { return 3 * x; }

/* A watched file: what it looked like when last loaded. */
struct watch {
  relink_object_id id;
  char path[512];
  int keep_state;
  struct stat seen;
};

static struct watch watches[16];
static int nwatches;

static int failed(relink_linker *l, const char *what, int rc) {
  if (rc != RELINK_OK) {
    printf("error (%d) in %s: %s\n", rc, what, relink_last_error(l));
  }
  return rc != RELINK_OK;
}

static int changed(const struct stat *a, const struct stat *b) {
  return a->st_ino != b->st_ino || a->st_size != b->st_size ||
         a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

/* Replaces each watched object whose file changed; frees old code after. A
 * broken new version is reported and the old one keeps running. */
static void poll_watches(relink_linker *l) {
  int replaced = 0;
  for (int i = 0; i < nwatches; i++) {
    struct watch *w = &watches[i];
    struct stat now;
    if (stat(w->path, &now) != 0 || !changed(&now, &w->seen)) {
      continue;
    }
    w->seen = now;
    if (!failed(l, "replace", relink_replace_file(l, w->id, w->path, w->keep_state))) {
      printf("reloaded %s\n", w->path);
      replaced = 1;
    }
  }
  /* No thread is in loaded code between two calls of this one thread. */
  if (replaced) {
    failed(l, "reclaim", relink_reclaim(l));
  }
}

static int copy_file(const char *from, const char *to) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", to);
  FILE *in = fopen(from, "rb"), *out = fopen(tmp, "wb");
  if (!in || !out) {
    printf("error: cannot copy %s to %s\n", from, to);
    if (in) fclose(in);
    if (out) fclose(out);
    return 1;
  }
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
    fwrite(buf, 1, n, out);
  }
  fclose(in);
  fclose(out);
  return rename(tmp, to);
}

static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc(*len ? *len : 1);
  if (buf && fread(buf, 1, *len, f) != *len) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

static void call(relink_linker *l, const char *name, int arg) {
  int_fn f = (int_fn)relink_function(l, name);
  if (!f) {
    printf("error in call: %s\n", relink_last_error(l));
    return;
  }
  printf("%s(%d) = %d\n", name, arg, f(arg));
}

static void where(relink_linker *l, const char *name) {
  pc_fn f = (pc_fn)relink_function(l, name);
  if (!f) {
    printf("error in where: %s\n", relink_last_error(l));
    return;
  }
  relink_symbolized s;
  if (!failed(l, "symbolize", relink_symbolize(l, (const void *)f(), &s))) {
    printf("%s returned an address in %s, function %s\n", name, s.object, s.function);
  }
}

static void list_undefined(relink_linker *l) {
  relink_undefined_symbol list[32];
  size_t n = 0;
  if (failed(l, "undefined", relink_undefined(l, list, 32, &n))) return;
  printf("%zu undefined\n", n);
  for (size_t i = 0; i < n && i < 32; i++) {
    printf("  %s, needed by %s\n", list[i].symbol, list[i].needed_by);
  }
}

static void run(relink_linker *l, const char *name, int count, int ms) {
  struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
  for (int i = 0; i < count; i++) {
    poll_watches(l);
    call(l, name, i);
    if (ms > 0) nanosleep(&pause, NULL);
  }
}

static void watch(relink_linker *l, const char *id, const char *path, const char *keep) {
  if (nwatches == 16) {
    puts("error: too many watches");
    return;
  }
  struct watch *w = &watches[nwatches];
  w->id = strtoull(id, NULL, 10);
  snprintf(w->path, sizeof w->path, "%s", path);
  w->keep_state = keep && strcmp(keep, "keep") == 0;
  if (stat(path, &w->seen) != 0) {
    printf("error: cannot watch %s\n", path);
    return;
  }
  nwatches++;
  (void)l;
  printf("watching %s for object %s\n", path, id);
}

/* One command; returns 0 for quit. */
static int command(relink_linker *l, char *line) {
  char *words[4] = {0};
  int n = 0;
  for (char *w = strtok(line, " \t\r\n"); w && n < 4; w = strtok(NULL, " \t\r\n")) {
    words[n++] = w;
  }
  if (n == 0 || words[0][0] == '#') return 1;
  const char *cmd = words[0], *a = words[1], *b = words[2], *c = words[3];
  relink_object_id id = 0;
  if (!strcmp(cmd, "quit")) return 0;
  if (!strcmp(cmd, "load") && a) {
    if (!failed(l, "load", relink_load_file(l, a, &id))) printf("object %llu: %s\n", (unsigned long long)id, a);
  } else if (!strcmp(cmd, "bytes") && b) {
    size_t len = 0;
    void *buf = read_file(b, &len);
    if (!buf) {
      printf("error: cannot read %s\n", b);
    } else if (!failed(l, "load", relink_load_bytes(l, a, buf, len, &id))) {
      printf("object %llu: %s\n", (unsigned long long)id, a);
    }
    free(buf);
  } else if (!strcmp(cmd, "archive") && a) {
    if (!failed(l, "archive", relink_load_archive(l, a))) printf("searched %s\n", a);
  } else if (!strcmp(cmd, "lib") && a) {
    if (!failed(l, "lib", relink_load_library(l, a))) printf("library %s\n", a);
  } else if (!strcmp(cmd, "define") && a) {
    int rc = !strcmp(a, "host_scale") ? relink_define_function(l, a, (relink_fn)host_scale)
           : !strcmp(a, "host_offset") ? relink_define(l, a, &host_offset)
           : -1;
    if (rc == -1) printf("error: the host has no symbol %s\n", a);
    else if (!failed(l, "define", rc)) printf("defined %s\n", a);
  } else if (!strcmp(cmd, "call") && a) {
    call(l, a, b ? atoi(b) : 0);
  } else if (!strcmp(cmd, "peek") && a) {
    int *p = relink_address(l, a);
    if (p) printf("%s = %d\n", a, *p);
    else printf("error in peek: %s\n", relink_last_error(l));
  } else if (!strcmp(cmd, "undefined")) {
    list_undefined(l);
  } else if (!strcmp(cmd, "check")) {
    if (!failed(l, "check", relink_check_resolved(l))) puts("everything is defined");
  } else if (!strcmp(cmd, "where") && a) {
    where(l, a);
  } else if (!strcmp(cmd, "replace") && b) {
    int keep = c && !strcmp(c, "keep");
    if (!failed(l, "replace", relink_replace_file(l, strtoull(a, NULL, 10), b, keep))) printf("replaced object %s\n", a);
  } else if (!strcmp(cmd, "unload") && a) {
    if (!failed(l, "unload", relink_unload(l, strtoull(a, NULL, 10)))) printf("unloaded object %s\n", a);
  } else if (!strcmp(cmd, "reclaim")) {
    if (!failed(l, "reclaim", relink_reclaim(l))) puts("reclaimed");
  } else if (!strcmp(cmd, "watch") && b) {
    watch(l, a, b, c);
  } else if (!strcmp(cmd, "poll")) {
    poll_watches(l);
  } else if (!strcmp(cmd, "run") && b) {
    run(l, a, atoi(b), c ? atoi(c) : 0);
  } else if (!strcmp(cmd, "copy") && b) {
    if (copy_file(a, b) == 0) printf("copied %s to %s\n", a, b);
  } else {
    printf("error: unknown or incomplete command `%s`\n", cmd);
  }
  return 1;
}

int main(int argc, char **argv) {
  FILE *in = argc > 1 ? fopen(argv[1], "r") : stdin;
  if (!in) {
    perror(argv[1]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  relink_linker *l = relink_new();
  if (!l) {
    fprintf(stderr, "relink_new: %s\n", relink_last_error(NULL));
    return 1;
  }
  char line[1024];
  while (fgets(line, sizeof line, in)) {
    printf("> %s", line);
    if (!strchr(line, '\n')) putchar('\n');
    if (!command(l, line)) break;
  }
  relink_free(l); /* runs the loaded objects' destructors */
  puts("bye");
  return 0;
}
