/* Exercises every function of include/relink.h, with its error paths. Run by
 * tests/capi.rs in a directory holding the objects compiled from this
 * directory's sources and libmath_capi.a; its output is compared with
 * api_test.expected (addresses normalised to 0xADDR). Built with
 * -std=c11 -Wall -Wextra -Werror -pedantic. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relink.h"

static const char *code_name(int rc) {
  switch (rc) {
  case RELINK_OK: return "OK";
  case RELINK_ERR_INVALID: return "ERR_INVALID";
  case RELINK_ERR_IO: return "ERR_IO";
  case RELINK_ERR_LINK: return "ERR_LINK";
  case RELINK_ERR_UNDEFINED: return "ERR_UNDEFINED";
  case RELINK_ERR_NOT_FOUND: return "ERR_NOT_FOUND";
  case RELINK_ERR_UNKNOWN_OBJECT: return "ERR_UNKNOWN_OBJECT";
  case RELINK_ERR_IN_USE: return "ERR_IN_USE";
  case RELINK_ERR_PANIC: return "ERR_PANIC";
  default: return "unknown status";
  }
}

/* Prints a call's status and, on failure, its message. */
static void show(const char *what, int rc, const relink_linker *l) {
  if (rc == RELINK_OK) {
    printf("%s: OK [%s]\n", what, relink_last_error(l));
  } else {
    printf("%s: %s: %s\n", what, code_name(rc), relink_last_error(l));
  }
}

/* For calls returning a pointer: NULL is a failure. */
static void show_ptr(const char *what, const void *p, const relink_linker *l) {
  if (p) {
    printf("%s: non-NULL\n", what);
  } else {
    printf("%s: NULL: %s\n", what, relink_last_error(l));
  }
}

static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc(*len);
  if (!buf || fread(buf, 1, *len, f) != *len) {
    perror(path);
    exit(2);
  }
  fclose(f);
  return buf;
}

typedef int (*int_fn)(int);
typedef uintptr_t (*pc_fn)(void);

static int_fn function(relink_linker *l, const char *name) {
  return (int_fn)relink_function(l, name);
}

int host_offset = 1000;
static int host_scale(int x) { return 3 * x; }

static void options(void) {
  puts("== options");
  relink_options o;
  relink_options_init(&o);
  printf("defaults: size ok %d, placement %d, stub_capacity %u, region_size %llu, "
         "link_only %d, debugger %d, perf_map %d\n",
         o.size == sizeof o, (int)o.placement, (unsigned)o.stub_capacity,
         (unsigned long long)o.region_size, (int)o.link_only, (int)o.debugger,
         (int)o.perf_map);
  relink_options_init(NULL);
  puts("relink_options_init(NULL): ignored");

  relink_options bad = o;
  bad.size = 3;
  show_ptr("new_with_options(size 3)", relink_new_with_options(&bad), NULL);
  bad = o;
  bad.placement = 9;
  show_ptr("new_with_options(placement 9)", relink_new_with_options(&bad), NULL);
  bad = o;
  bad.debugger = 5;
  show_ptr("new_with_options(debugger 5)", relink_new_with_options(&bad), NULL);

  relink_linker *d = relink_new_with_options(NULL);
  show_ptr("new_with_options(NULL)", d, NULL);
  relink_free(d);

  /* Link-only: linked, but no constructor runs and no destructor at free. */
  relink_options lo = o;
  lo.link_only = 1;
  relink_linker *l = relink_new_with_options(&lo);
  show("link-only load_file(counter_v1.o)", relink_load_file(l, "counter_v1.o", NULL), l);
  show_ptr("link-only lookup(step)", relink_lookup(l, "step"), l);
  relink_free(l);
  puts("link-only freed (no destructor ran)");

  relink_options any = o;
  any.placement = RELINK_PLACEMENT_ANYWHERE;
  any.debugger = 0;
  l = relink_new_with_options(&any);
  show("anywhere load_file(counter_v1.o)", relink_load_file(l, "counter_v1.o", NULL), l);
  printf("anywhere step(1) = %d\n", function(l, "step")(1));
  relink_free(l);
}

static void bad_handles(void) {
  puts("== NULL and invalid handles");
  relink_object_id id = 0;
  relink_fn fn = NULL;
  relink_undefined_symbol u;
  relink_symbolized s;
  size_t n = 0;
  show("load_file(NULL)", relink_load_file(NULL, "counter_v1.o", &id), NULL);
  show("load_bytes(NULL)", relink_load_bytes(NULL, "x", "", 0, &id), NULL);
  show("load_archive(NULL)", relink_load_archive(NULL, "libmath_capi.a"), NULL);
  show("load_library(NULL)", relink_load_library(NULL, "m"), NULL);
  show("define(NULL)", relink_define(NULL, "x", &host_offset), NULL);
  show("define_function(NULL)", relink_define_function(NULL, "x", fn), NULL);
  show_ptr("lookup(NULL)", relink_lookup(NULL, "step"), NULL);
  show_ptr("address(NULL)", relink_address(NULL, "step"), NULL);
  fn = relink_function(NULL, "step");
  printf("function(NULL): %s: %s\n", fn ? "non-NULL" : "NULL", relink_last_error(NULL));
  show("check_resolved(NULL)", relink_check_resolved(NULL), NULL);
  show("undefined(NULL)", relink_undefined(NULL, &u, 1, &n), NULL);
  show("symbolize(NULL)", relink_symbolize(NULL, (void *)&n, &s), NULL);
  show("replace(NULL)", relink_replace(NULL, 1, "", 0, 0), NULL);
  show("replace_file(NULL)", relink_replace_file(NULL, 1, "counter_v2.o", 0), NULL);
  show("unload(NULL)", relink_unload(NULL, 1), NULL);
  show("reclaim(NULL)", relink_reclaim(NULL), NULL);
  relink_free(NULL);
  puts("free(NULL): ignored");

  /* Not a linker: never dereferenced (it is a plain int). */
  int not_a_linker = 0;
  relink_linker *bogus = (relink_linker *)(void *)&not_a_linker;
  show("load_file(bogus)", relink_load_file(bogus, "counter_v1.o", &id), NULL);
  printf("last_error(bogus): %s\n", relink_last_error(bogus));
  relink_free(bogus);
  printf("free(bogus): %s\n", relink_last_error(NULL));

  relink_linker *gone = relink_new();
  relink_free(gone);
  show("unload(freed)", relink_unload(gone, 1), NULL);
}

static void loading(relink_linker *l, relink_object_id *counter, relink_object_id *reader) {
  puts("== loading");
  printf("last_error(new linker): [%s]\n", relink_last_error(l));
  show("load_file(path NULL)", relink_load_file(l, NULL, counter), l);
  show("load_file(missing.o)", relink_load_file(l, "missing.o", counter), l);
  show("load_file(counter_v1.o)", relink_load_file(l, "counter_v1.o", counter), l);
  printf("counter_v1.o is object %llu\n", (unsigned long long)*counter);
  show("load_file(reader.o)", relink_load_file(l, "reader.o", reader), l);
  printf("reader.o is object %llu\n", (unsigned long long)*reader);
  show("load_file(probe.o, out NULL)", relink_load_file(l, "probe.o", NULL), l);

  int_fn step = function(l, "step");
  printf("step(1) = %d\n", step(1));
  int *count = relink_lookup(l, "counter");
  printf("*lookup(counter) = %d\n", *count);
  *count = 500;
  printf("host set counter to 500; step(2) = %d\n", step(2));
  show_ptr("lookup(nope)", relink_lookup(l, "nope"), l);
  show_ptr("lookup(name NULL)", relink_lookup(l, NULL), l);
  show_ptr("lookup(not UTF-8)", relink_lookup(l, "\xff"), l);
  relink_fn none = relink_function(l, "nope");
  printf("function(nope): %s: %s\n", none ? "non-NULL" : "NULL", relink_last_error(l));
}

static void symbols(relink_linker *l) {
  puts("== symbols");
  size_t len = 0, n = 99;
  void *bytes = read_file("uses_host.o", &len);
  relink_object_id id = 0;
  show("load_bytes(uses_host)", relink_load_bytes(l, "uses_host(bytes)", bytes, len, &id), l);
  show("load_bytes(name NULL)", relink_load_bytes(l, NULL, bytes, len, &id), l);
  show("load_bytes(bytes NULL, len 5)", relink_load_bytes(l, "nothing", NULL, 5, &id), l);
  show("load_bytes(garbage)", relink_load_bytes(l, "garbage", "hello", 5, &id), l);
  free(bytes);

  show("check_resolved", relink_check_resolved(l), l);
  show_ptr("lookup(step) while host_scale is undefined", relink_lookup(l, "step"), l);
  show_ptr("address(counter) while host_scale is undefined", relink_address(l, "counter"), l);
  show("undefined(NULL, 0)", relink_undefined(l, NULL, 0, &n), l);
  printf("%zu undefined\n", n);
  relink_undefined_symbol list[4];
  show("undefined(list, 1)", relink_undefined(l, list, 1, &n), l);
  for (size_t i = 0; i < n && i < 1; i++) {
    printf("  undefined `%s`, needed by %s\n", list[i].symbol, list[i].needed_by);
  }
  show("undefined(NULL, 3)", relink_undefined(l, NULL, 3, &n), l);
  show("undefined(count NULL)", relink_undefined(l, list, 4, NULL), l);

  show("define(address NULL)", relink_define(l, "host_offset", NULL), l);
  show("define(name NULL)", relink_define(l, NULL, &host_offset), l);
  show("define_function(function NULL)", relink_define_function(l, "host_scale", NULL), l);
  show("define(host_offset)", relink_define(l, "host_offset", &host_offset), l);
  show("check_resolved, host_scale still missing", relink_check_resolved(l), l);
  show("define_function(host_scale)",
       relink_define_function(l, "host_scale", (relink_fn)host_scale), l);
  show("check_resolved", relink_check_resolved(l), l);
  show("undefined(list, 4)", relink_undefined(l, list, 4, &n), l);
  printf("%zu undefined\n", n);
  printf("scaled(4) = %d\n", function(l, "scaled")(4));
  int *count = relink_address(l, "counter");
  printf("*address(counter) = %d\n", *count);
  show_ptr("address(nope)", relink_address(l, "nope"), l);
}

static void archives(relink_linker *l) {
  puts("== archives and libraries");
  show("load_file(sum_squares.o)", relink_load_file(l, "sum_squares.o", NULL), l);
  show("load_archive(path NULL)", relink_load_archive(l, NULL), l);
  show("load_archive(missing.a)", relink_load_archive(l, "missing.a"), l);
  show("load_file(libmath_capi.a)", relink_load_file(l, "libmath_capi.a", NULL), l);
  show("load_archive(libmath_capi.a)", relink_load_archive(l, "libmath_capi.a"), l);
  printf("sum_squares(3) = %d\n", function(l, "sum_squares")(3));
  show_ptr("address(cube), an unneeded member", relink_address(l, "cube"), l);
  show("load_library(name NULL)", relink_load_library(l, NULL), l);
  show("load_library(m)", relink_load_library(l, "m"), l);
  show("load_library(no_such_library_relink)", relink_load_library(l, "no_such_library_relink"), l);
}

static void symbolize(relink_linker *l) {
  puts("== symbolize");
  uintptr_t pc = ((pc_fn)relink_function(l, "probe"))();
  relink_symbolized s;
  show("symbolize(pc in probe)", relink_symbolize(l, (const void *)pc, &s), l);
  printf("  object %s, function %s, offset in (0, 64): %d\n", s.object, s.function,
         s.offset > 0 && s.offset < 64);
  show("symbolize(out NULL)", relink_symbolize(l, (const void *)pc, NULL), l);
  show("symbolize(host data)", relink_symbolize(l, &host_offset, &s), l);
  show("symbolize(stub)", relink_symbolize(l, relink_lookup(l, "probe"), &s), l);
}

static void replacing(relink_linker *l, relink_object_id counter, relink_object_id reader) {
  puts("== replace, unload, reclaim");
  int_fn step = function(l, "step");
  int *count = relink_lookup(l, "counter");
  size_t len = 0;
  void *v2 = read_file("counter_v2.o", &len);
  show("replace(v2, fresh state)", relink_replace(l, counter, v2, len, 0), l);
  printf("counter keeps its address: %d, value %d\n", count == relink_lookup(l, "counter"),
         *count);
  printf("old function pointer, step(1) = %d\n", step(1));
  printf("read_counter() = %d\n", ((int (*)(void))relink_function(l, "read_counter"))());
  show("replace_file(v1, keep state)", relink_replace_file(l, counter, "counter_v1.o", 1), l);
  printf("step(1) = %d\n", step(1));
  show("replace(garbage)", relink_replace(l, counter, "garbage", 7, 0), l);
  printf("old version still runs: step(1) = %d\n", step(1));
  show("replace(unknown id 999)", relink_replace(l, 999, v2, len, 0), l);
  show("replace(bytes NULL, len 3)", relink_replace(l, counter, NULL, 3, 0), l);
  show("replace_file(path NULL)", relink_replace_file(l, counter, NULL, 0), l);
  show("replace_file(missing.o)", relink_replace_file(l, counter, "missing.o", 0), l);
  show("replace_file(unknown id 999)", relink_replace_file(l, 999, "counter_v2.o", 0), l);
  show("replace(v2, keep state)", relink_replace(l, counter, v2, len, 1), l);
  printf("step(1) = %d\n", step(1));
  size_t len1 = 0, reader_len = 0;
  void *v1 = read_file("counter_v1.o", &len1);
  void *reader_bytes = read_file("reader.o", &reader_len);
  relink_replacement both[2] = {{counter, v1, len1}, {reader, reader_bytes, reader_len}};
  show("replace_many(counter v1, reader)", relink_replace_many(l, both, 2, 1), l);
  printf("step(1) = %d\n", step(1));
  printf("read_counter() = %d\n", ((int (*)(void))relink_function(l, "read_counter"))());
  relink_replacement bad[2] = {{counter, v2, len}, {reader, "garbage", 7}};
  show("replace_many(v2, garbage)", relink_replace_many(l, bad, 2, 1), l);
  printf("nothing switched: step(1) = %d\n", step(1));
  show("replace_many(NULL, 1)", relink_replace_many(l, NULL, 1, 0), l);
  show("replace_many(NULL, 0)", relink_replace_many(l, NULL, 0, 0), l);
  free(v1);
  free(reader_bytes);
  free(v2);

  show("unload(counter, read by reader.o)", relink_unload(l, counter), l);
  show("unload(reader)", relink_unload(l, reader), l);
  show("unload(counter)", relink_unload(l, counter), l);
  show("unload(counter again)", relink_unload(l, counter), l);
  show_ptr("lookup(step) after unload", relink_lookup(l, "step"), l);
  show("reclaim", relink_reclaim(l), l);
  relink_linker *empty = relink_new();
  show("reclaim(nothing loaded)", relink_reclaim(empty), empty);
  relink_free(empty);
}

/* One thread calls spin() through its stub while the main thread replaces its
 * object: every call returns what one version or the other computes. */
static atomic_int stop;
static int bad_results;
static atomic_long calls;

static void *spinner(void *arg) {
  relink_fn fn;
  memcpy(&fn, &arg, sizeof fn);
  int_fn spin = (int_fn)fn;
  for (int i = 0; !atomic_load(&stop); i++) {
    int r = spin(i);
    if (r != i + 1 && r != i + 2) bad_results++;
    atomic_fetch_add(&calls, 1);
  }
  return NULL;
}

static void threads(void) {
  puts("== threads");
  relink_linker *l = relink_new();
  relink_object_id id = 0;
  size_t len1 = 0, len2 = 0;
  void *v1 = read_file("spin_v1.o", &len1), *v2 = read_file("spin_v2.o", &len2);
  show("load_bytes(spin_v1)", relink_load_bytes(l, "spin.o", v1, len1, &id), l);
  relink_fn spin = relink_function(l, "spin");
  void *arg;
  memcpy(&arg, &spin, sizeof arg); /* pthread passes a void *; POSIX allows the round trip */
  pthread_t t;
  pthread_create(&t, NULL, spinner, arg);
  while (atomic_load(&calls) == 0) {
    sched_yield(); /* until the thread is calling */
  }
  int failures = 0, replaces = 200;
  for (int i = 0; i < replaces; i++) {
    /* spin() uses no variables: with or without keep_state alike. */
    failures += relink_replace(l, id, i % 2 ? v1 : v2, i % 2 ? len1 : len2, i % 3 == 0) != RELINK_OK;
  }
  atomic_store(&stop, 1);
  pthread_join(t, NULL);
  /* Now no thread runs retired code. */
  show("reclaim after join", relink_reclaim(l), l);
  printf("%d replaces while another thread called spin: %d failed, %s results wrong, "
         "calls made: %s\n",
         replaces, failures, bad_results ? "some" : "no", atomic_load(&calls) > 0 ? "yes" : "no");
  free(v1);
  free(v2);
  relink_free(l);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  options();
  bad_handles();

  relink_linker *l = relink_new();
  show_ptr("relink_new", l, NULL);
  relink_object_id counter = 0, reader = 0;
  loading(l, &counter, &reader);
  symbols(l);
  archives(l);
  symbolize(l);
  replacing(l, counter, reader);
  threads();

  puts("== free");
  show("load_file(counter_v2.o)", relink_load_file(l, "counter_v2.o", NULL), l);
  relink_free(l);
  puts("freed");
  return 0;
}
