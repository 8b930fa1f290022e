/* Debug-info test objects (tests/gdb.rs): gdb breaks in a loaded function,
   shows the loaded frames and the source lines. */
int counter_step(int x);

int counter_total = 0;

int counter_run(int n) {
  int sum = 0;
  for (int i = 0; i < n; i++) {
    sum += counter_step(i);
  }
  counter_total = sum;
  return sum;
}
