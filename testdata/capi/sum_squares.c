/* Needs square() from the archive libmath_capi.a. */
int square(int x);
int sum_squares(int n) {
  int s = 0;
  for (int i = 1; i <= n; i++) s += square(i);
  return s;
}
