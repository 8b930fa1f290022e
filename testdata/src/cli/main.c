#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

extern char **environ;

int main(int argc, char **argv)
{
    struct options o = { 0, -1, "none" };
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=\"%s\" (%zu chars)\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");

    int first = parse_options(argc, argv, &o);
    printf("options: verbose=%d count=%ld name=%s first-operand=%d\n", o.verbose, o.count,
           o.name, first);
    for (int i = first; i > 0 && i < argc; i++)
        printf("operand: %s\n", argv[i]);

    complain("nothing");
    fprintf(stdout, "stdout via fprintf\n");
    fputs("stdout via fputs\n", stdout);
    fwrite("stdout via fwrite\n", 1, 18, stdout);
    putchar('!');
    putchar('\n');

    int e = open_missing_errno();
    printf("fopen missing: errno=%s strerror=%s\n", errno_name(e), strerror(e));
    printf("strtol overflow sets ERANGE: %d\n", strtol_overflow());
    printf("environ is set: %s\n", environ != NULL ? "yes" : "no");
    fflush(stdout);
    fprintf(stderr, "cli: exiting with status 3\n");
    return 3;
}
