/*
 * relink.h: the C API of relink, which loads relocatable object files (.o, and
 * .a archives of them) into the running process, links them in memory, runs
 * them, and replaces or unloads single objects without relinking the others.
 *
 * Written by hand, and kept equal to the Rust side (src/capi.rs) by a test
 * (tests/capi.rs compares every prototype, constant and struct field).
 *
 * Build and link: `cargo build --release` produces target/release/librelink.so
 * and librelink.a; `scripts/c-install.sh PREFIX` installs them with this
 * header and pkg-config files, after which (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig)
 *
 *     cc host.c $(pkg-config --cflags --libs relink)          links librelink.so
 *     cc host.c $(pkg-config --cflags --libs relink-static)   links librelink.a
 *
 * ERRORS. Every call reports failure: functions returning int return RELINK_OK
 * (0) on success and one of the nonzero RELINK_ERR_* codes on failure; those
 * returning a pointer return NULL. relink_last_error(l) then gives the message,
 * which names the object, section, offset and symbol as relink's Rust errors
 * do. A NULL pointer where one is required, a handle that relink_new did not
 * return or that was freed, a name that is not UTF-8: each is reported as
 * RELINK_ERR_INVALID, never dereferenced (handles are checked against the set
 * of live linkers before use). A Rust panic never crosses this boundary: it is
 * caught and reported as RELINK_ERR_PANIC, after which the linker refuses
 * every call but relink_last_error and relink_free.
 *
 * THREADS.
 *  - A relink_linker is not internally locked. Calls on one linker must not
 *    overlap: the caller serializes them (its own lock). Any thread may make
 *    them, one at a time; distinct linkers may be used on distinct threads at
 *    once.
 *  - Code loaded by a linker may run on any threads while that linker is being
 *    called, for every call except relink_reclaim and relink_free:
 *    relink_replace and relink_replace_file publish the new version with one
 *    atomic store per function, so a thread already inside the old version
 *    finishes there and its next call reaches the new one; relink_unload makes
 *    the object's functions trap with their name from then on. (Variables are
 *    shared memory: re-initialising them while another thread uses them is the
 *    caller's data race, as in any C program.)
 *  - relink_reclaim frees the code of replaced and unloaded versions: call it
 *    only when no thread is executing, or will return into, such code (for
 *    example between two calls into loaded code, as a watch loop does).
 *  - relink_free runs the destructors of every loaded object and frees all of
 *    its memory: no thread may be running loaded code, or call it later through
 *    a pointer obtained from this linker.
 *  - Constructors and destructors of loaded objects run inside relink_load_*,
 *    relink_replace*, relink_unload and relink_free, on the calling thread,
 *    while the caller's lock is held: they must not call into the same linker,
 *    nor let a C++ exception escape (it cannot cross relink: the process aborts).
 *
 * Strings returned (relink_last_error, relink_undefined, relink_symbolize)
 * belong to the linker and stay valid until the next call on it.
 */
#ifndef RELINK_H
#define RELINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A linker: owns everything it loaded. Opaque; create with relink_new. */
typedef struct relink_linker relink_linker;

/* Names a loaded object; stays valid until it is unloaded (a replaced object
 * keeps its id). Never 0. */
typedef uint64_t relink_object_id;

/* A function in loaded code, as relink_function returns it: cast it to the
 * function's real type before calling (ISO C allows casts between function
 * pointer types, not between void * and them). */
typedef void (*relink_fn)(void);

/* Status codes. */
#define RELINK_OK 0
#define RELINK_ERR_INVALID 1        /* a NULL or invalid argument or handle */
#define RELINK_ERR_IO 2             /* a file could not be read */
#define RELINK_ERR_LINK 3           /* malformed, unsupported, out of range, duplicate... */
#define RELINK_ERR_UNDEFINED 4      /* referenced symbols that nothing defines */
#define RELINK_ERR_NOT_FOUND 5      /* no such symbol, or no loaded code at an address */
#define RELINK_ERR_UNKNOWN_OBJECT 6 /* no loaded object has this id */
#define RELINK_ERR_IN_USE 7         /* unload refused: another object uses its variables */
#define RELINK_ERR_PANIC 8          /* an internal error (a bug in relink); see above */

/* Where the linker reserves its memory (relink_options.placement). */
#define RELINK_PLACEMENT_AUTO 0         /* chosen from the first objects loaded */
#define RELINK_PLACEMENT_LOW 1          /* low 2 GiB: static-model code (R_X86_64_32/32S) */
#define RELINK_PLACEMENT_NEAR_PROCESS 2 /* within 2 GiB of the C library (gcc PIE code) */
#define RELINK_PLACEMENT_ANYWHERE 3     /* wherever the kernel puts it */

/* Options of relink_new_with_options. Fill with relink_options_init, then
 * change fields. */
typedef struct relink_options {
  size_t size;            /* sizeof(relink_options): detects a header/library mismatch */
  int32_t placement;      /* RELINK_PLACEMENT_* (default AUTO) */
  uint32_t stub_capacity; /* symbols the stub table holds (default 2^18) */
  uint64_t region_size;   /* bytes of address space reserved (default 512 MiB) */
  int32_t link_only;      /* nonzero: link, but never run code (no constructors) */
  int32_t debugger;       /* GDB JIT registration: -1 if a debugger is attached (default), 0 never, 1 always */
  int32_t perf_map;       /* nonzero: append loaded functions to /tmp/perf-PID.map */
  int32_t reserved;       /* 0 */
} relink_options;

/* One referenced symbol nothing defines, from relink_undefined. */
typedef struct relink_undefined_symbol {
  const char *symbol;
  const char *needed_by; /* the objects referring to it, separated by ", " */
} relink_undefined_symbol;

/* Where an address lies in loaded code, from relink_symbolize. */
typedef struct relink_symbolized {
  const char *object;   /* the object's name (its path, or the name given) */
  const char *function; /* the function containing the address */
  uint64_t offset;      /* bytes from the function's start */
} relink_symbolized;

/* --- Linkers ------------------------------------------------------------ */

/* A linker with default options. NULL on failure: relink_last_error(NULL). */
relink_linker *relink_new(void);

/* Sets *options to the defaults (and options->size). */
void relink_options_init(relink_options *options);

/* A linker with these options (NULL: the defaults). NULL on failure, with the
 * message in relink_last_error(NULL). */
relink_linker *relink_new_with_options(const relink_options *options);

/* Runs the destructors of every loaded object, then frees the linker and all
 * memory it loaded. NULL is ignored; an invalid handle is reported in
 * relink_last_error(NULL) and left alone. */
void relink_free(relink_linker *l);

/* The message of the last call on l if it failed, "" if it succeeded. With
 * l == NULL (or an invalid handle): the message of the last call on this
 * thread that failed without a linker to hold it (relink_new with a failure,
 * a NULL or invalid handle). Valid until the next call on l (for NULL: on this
 * thread). Never NULL. */
const char *relink_last_error(const relink_linker *l);

/* --- Loading ------------------------------------------------------------ */

/* Loads an object file; its id is stored in *out unless out is NULL. An
 * archive is refused (RELINK_ERR_INVALID): load it with relink_load_archive. */
int relink_load_file(relink_linker *l, const char *path, relink_object_id *out);

/* Loads an object from memory. relink keeps no reference to the buffer: the
 * caller may free it when the call returns. `name` appears in messages and in
 * relink_symbolize. */
int relink_load_bytes(relink_linker *l, const char *name, const void *bytes, size_t len,
                      relink_object_id *out);

/* Links the members of a static archive that the objects loaded so far need,
 * and what those need in turn. One transaction: on failure nothing stays. */
int relink_load_archive(relink_linker *l, const char *path);

/* Makes a shared library's symbols available to loaded code (dlopen with
 * RTLD_GLOBAL): a path, or a short name as for -l ("stdc++", "m"). */
int relink_load_library(relink_linker *l, const char *name);

/* --- Symbols ------------------------------------------------------------ */

/* Defines `name` for loaded code, to be found after loaded objects' own
 * definitions and before the process's. Objects already loaded that refer to
 * it are re-bound. `address` must not be NULL. */
int relink_define(relink_linker *l, const char *name, const void *address);

/* The canonical address of a symbol (a function's stub, which stays valid
 * across replacement; a variable's storage). NULL, with the error, if the
 * symbol is not defined or if any referenced symbol is still undefined (all
 * are listed), so that no code runs half-linked. */
void *relink_lookup(relink_linker *l, const char *name);

/* relink_define for a host function, without the cast from a function pointer
 * to `const void *` that ISO C does not allow (-pedantic warns). */
int relink_define_function(relink_linker *l, const char *name, relink_fn function);

/* relink_lookup for a function, as a function pointer (see relink_fn). */
relink_fn relink_function(relink_linker *l, const char *name);

/* Like relink_lookup, but without the check that everything is resolved: for
 * variables, or to set up data before the rest of a program is loaded. */
void *relink_address(relink_linker *l, const char *name);

/* RELINK_OK if every referenced symbol is defined; otherwise
 * RELINK_ERR_UNDEFINED, with every undefined symbol and the objects needing it
 * in relink_last_error(l). */
int relink_check_resolved(relink_linker *l);

/* Lists the referenced symbols nothing defines: stores their number in
 * *count and the first min(*count, capacity) of them in out[] (out may be NULL
 * when capacity is 0). The strings stay valid until the next call on l. */
int relink_undefined(relink_linker *l, relink_undefined_symbol *out, size_t capacity,
                     size_t *count);

/* Names the loaded function containing `pc` (a return address, a sampled PC)
 * in *out. RELINK_ERR_NOT_FOUND if it lies outside loaded functions (the host,
 * stubs). The strings stay valid until the next call on l. */
int relink_symbolize(relink_linker *l, const void *pc, relink_symbolized *out);

/* --- Replacing and unloading ------------------------------------------- */

/* Replaces loaded object `id` with a new version, without relinking any
 * other. The new version is linked completely before it is published; if
 * anything fails, the old version keeps running and nothing changes. Global
 * variables of the same name and size keep their address; their contents are
 * re-initialised, or kept if keep_state is nonzero. Without keep_state the old
 * version's destructors and the new one's constructors run; with it, neither.
 * The old code is retired, not freed: see relink_reclaim. As with
 * relink_load_bytes, the caller may free `bytes` when the call returns. */
int relink_replace(relink_linker *l, relink_object_id id, const void *bytes, size_t len,
                   int keep_state);

/* relink_replace with the new version read from a file. */
int relink_replace_file(relink_linker *l, relink_object_id id, const char *path,
                        int keep_state);

/* One new version for relink_replace_many. */
typedef struct relink_replacement {
  relink_object_id id; /* the loaded object it replaces */
  const void *bytes;   /* the new version's object file; may be freed after the call */
  size_t len;
} relink_replacement;

/* Replaces `n` loaded objects as one transaction: all switch, or none does
 * (an edit to a header rebuilds several files). Every new version is linked
 * completely and they are checked together (a variable may move from one to
 * another, a name one drops another may define) before any is published.
 * Otherwise as relink_replace, with keep_state for all of them. */
int relink_replace_many(relink_linker *l, const relink_replacement *items, size_t n,
                        int keep_state);

/* Unloads an object: runs its destructors, and its functions trap (naming
 * themselves) from then on. Refused with RELINK_ERR_IN_USE while another
 * object refers to one of its variables. Its memory is retired until
 * relink_reclaim. */
int relink_unload(relink_linker *l, relink_object_id id);

/* Frees the memory of replaced and unloaded versions. The caller guarantees
 * that no thread is executing, or will return into, retired code. */
int relink_reclaim(relink_linker *l);

#ifdef __cplusplus
}
#endif

#endif /* RELINK_H */
