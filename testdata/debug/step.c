int counter_step(int x) {
  int y = x * 3;
  y = y + 1; /* step.c: the line gdb reports */
  return y;
}
