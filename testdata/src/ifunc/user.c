// Another object using the ifunc: a call, its address in code, in writable data
// and in a const table of pointers (.data.rel.ro in PIC code).
#include "ifunc.h"

int call_combine(int a, int b) { return combine(a, b); }
binop combine_in_user_object(void) { return combine; }
binop combine_in_user_data = combine;

static int sub(int a, int b) { return a - b; }
const binop combine_table[2] = {sub, combine};
