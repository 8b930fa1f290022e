/* Loaded C code that calls back into the host through two loaded frames
   (tests/macho.rs captures a backtrace in the callback). */
typedef int (*callback)(int);

__attribute__((noinline)) int chain_inner(callback cb, int x) {
  int r = cb(x * 2);
  return r + 1; /* not a tail call: the frame stays on the stack */
}

__attribute__((noinline)) int chain_outer(callback cb, int x) {
  int r = chain_inner(cb, x + 1);
  return r * 3;
}
