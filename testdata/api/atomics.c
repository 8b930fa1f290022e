/* AArch64 gcc calls libgcc's outline atomics (__aarch64_ldadd4_acq_rel) for this:
 * relink needs libgcc.a as an input, and says so. */
int counter;
int main(void) {
  for (int i = 0; i < 10; i++) __atomic_fetch_add(&counter, 3, __ATOMIC_ACQ_REL);
  return counter;
}
