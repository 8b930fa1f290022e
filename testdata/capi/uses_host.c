/* Calls a function and reads a variable that the host defines with
 * relink_define_function and relink_define. */
int host_scale(int x);
extern int host_offset;
int scaled(int x) { return host_scale(x) + host_offset; }
