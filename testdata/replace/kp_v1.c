// State that points into the object itself: a string, a static function, and
// statics (file- and function-local) a keep_state replace carries over.
static int helper(int x) { return x + 1; }
const char *name = "v1";
int (*hook)(int) = helper;
static int counter;
int bump(void) { static int count; count++; return ++counter * 100 + count; }
const char *get_name(void) { return name; }
int call_hook(int x) { return hook(x); }
