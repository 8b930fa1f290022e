/* Called in a loop by one thread while another replaces this object with
 * spin_v2.c and back (api_test.c, "threads"). */
int spin(int x) { return x + 1; }
