// Const tables of pointers (.data.rel.ro in PIC code) to functions and strings
// of several objects, a string literal in two functions, and the strong
// definitions that override vis.c's weak ones.
#include "emit.h"

static int sub(int a, int b) { return a - b; }

const struct op op_table[] = {
    {"mul", mul},
    {"hidden_add", hidden_add},
    {"sub", sub},
    {"none", 0},
};

const char *const color_names[] = {"red", "green", "blue"};

const char *greet_a(void) { return "merged greeting"; }
const char *greet_b(void) { return "merged greeting"; }

int weak_value(void) { return 2; }
int weak_data = 20;

// Tentative definitions (COMMON with -fcommon); vis.c has them with a stronger
// alignment.
long common_pair[4] __attribute__((aligned(16)));
char common_small[8];
