/* Not a program: thread-local storage, which relink refuses for now
 * (X86_64_RELOC_TLV, ARM64_RELOC_TLVP_LOAD_PAGE21/PAGEOFF12). tests/macho.rs
 * checks the error. */
_Thread_local int tls_counter = 5;

int bump_tls(void)
{
    return ++tls_counter;
}
