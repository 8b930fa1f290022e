/* Compiled for Linux (ELF) on purpose: it calls glibc's printf, which is fine in
 * ELF code on both architectures, and is linked with Mach-O objects. */
#include <stdio.h>
#include "../mixed.h"

long elf_counter = 10;
const char elf_banner[] = "mixed: Mach-O main, ELF helpers";
long (*elf_hook)(long) = macho_twice;

void elf_show(const char *label, long v)
{
    printf("[elf] %s: %ld\n", label, v);
    fflush(stdout);
}

long elf_apply(long (*f)(long), long x)
{
    return f(x) + macho_twice(x);
}

long elf_read_macho(void)
{
    return macho_value;
}

long (*elf_get_twice(void))(long)
{
    return macho_twice;
}
