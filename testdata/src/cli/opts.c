#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cli.h"

/* Returns the index of the first non-option argument. */
int parse_options(int argc, char **argv, struct options *o)
{
    int c;
    opterr = 0;                     /* libc data, written from here */
    optind = 1;
    while ((c = getopt(argc, argv, "+vn:s:")) != -1) {
        switch (c) {
        case 'v': o->verbose++; break;
        case 'n': o->count = strtol(optarg, NULL, 10); break;
        case 's': o->name = optarg; break;
        default:
            fprintf(stderr, "unknown option -%c\n", optopt);
            return -1;
        }
    }
    return optind;
}
