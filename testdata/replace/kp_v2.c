// kp_v1.c, version 2: helper adds 2, the string is "v2".
static int helper(int x) { return x + 2; }
const char *name = "v2";
int (*hook)(int) = helper;
static int counter;
int bump(void) { static int count; count++; return ++counter * 100 + count; }
const char *get_name(void) { return name; }
int call_hook(int x) { return hook(x); }
