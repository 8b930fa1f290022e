/* Built with -fno-pic: 1 MiB of local-exec TLS (zero-filled, so the object
 * stays small), more than the C library's static TLS surplus gives unless it is
 * enlarged (GLIBC_TUNABLES). */
__thread char huge[1 << 20];
int main(void) {
  huge[(1 << 20) - 1] = 41;
  return huge[(1 << 20) - 1] + 1;
}
