/* Not a program: a cleanup that runs during unwinding (-fexceptions) gives x86_64
 * an __eh_frame CIE with a personality (X86_64_RELOC_GOT in __eh_frame) and an FDE
 * with an LSDA pointer into __gcc_except_tab, which the assembler leaves without a
 * relocation. tests/macho.rs checks the relocations relink's reader adds. */
#include <stdio.h>

void release(int *p)
{
    fputs(*p ? "release\n" : "release 0\n", stdout);
}

void may_throw(int);

int guarded(int x)
{
    int v __attribute__((cleanup(release))) = x;
    may_throw(v);
    return v + 1;
}
