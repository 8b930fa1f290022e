/* Nothing refers to it: never pulled. */
int unused_fn(void) { return 42; }
int unused_data[1024] = {1};
