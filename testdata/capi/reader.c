/* Reads counter_v1.c's variable: while it is loaded, counter's object cannot be
 * unloaded. */
extern int counter;
int read_counter(void) { return counter; }
