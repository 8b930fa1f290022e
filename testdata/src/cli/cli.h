/* cli: argc/argv (arguments come after `--`), getopt (libc's optind/optarg
 * data), stderr and errno from libc, stdout via several stdio calls, and a
 * non-zero exit status (3). Only stdout is compared; stderr gets noise.
 *
 * The gcc-nopic build of this program cannot be loaded in-process: its code
 * needs 32-bit absolute addresses (R_X86_64_32/32S: load below 2 GiB) and
 * reaches libc's stderr/stdout/optind/environ with R_X86_64_PC32 (load within
 * 2 GiB of libc). The test expects relink to refuse it with a clear error. */
#ifndef CLI_H
#define CLI_H

struct options {
    int verbose;
    long count;
    const char *name;
};

/* opts.c */
int parse_options(int argc, char **argv, struct options *o);

/* errs.c */
int open_missing_errno(void);
int strtol_overflow(void);
const char *errno_name(int e);
void complain(const char *what);
#endif
