/* Compiled as Mach-O; elf/fmt.c is compiled as ELF for the same architecture. */
#include "../common/out.h"
#include "mixed.h"

long macho_value = 1234;

long macho_twice(long x)
{
    return 2 * x;
}

static long square(long x)
{
    return x * x;
}

int main(void)
{
    out_str(elf_banner);
    out_nl();
    elf_show("macho_value seen by ELF code", elf_read_macho());
    macho_value = 99;
    elf_show("after a Mach-O write", elf_read_macho());
    out_kv("elf_counter seen by Mach-O code", elf_counter);
    elf_counter += 5;
    elf_show("elf_counter after a Mach-O write", elf_counter);
    out_kv("elf_apply(square, 7)", elf_apply(square, 7));
    out_kv("elf_hook(21)", elf_hook(21));
    out_kv("elf_hook == macho_twice", elf_hook == macho_twice);
    out_kv("elf_get_twice() == macho_twice", elf_get_twice() == macho_twice);
    return (int)(elf_counter - 15);
}
