/* Shared by the Mach-O objects (main.c) and the ELF object (elf/fmt.c) of one
 * architecture, linked together in one Linker. Only int/long/pointer arguments,
 * at most eight: the Darwin and Linux calling conventions agree on those. */
extern long elf_counter;        /* ELF data, read and written by Mach-O code */
extern const char elf_banner[]; /* ELF read-only data */
extern long macho_value;        /* Mach-O data, read and written by ELF code */
extern long (*elf_hook)(long);  /* ELF data holding a Mach-O function's address */

long macho_twice(long x);       /* Mach-O function called by ELF code */
void elf_show(const char *label, long v);
long elf_apply(long (*f)(long), long x);
long elf_read_macho(void);
long (*elf_get_twice(void))(long);
