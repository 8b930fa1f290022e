#include "tables.h"

long op_add(long a, long b) { return a + b; }
long op_sub(long a, long b) { return a - b; }
long op_mul(long a, long b) { return a * b; }
long op_div(long a, long b) { return b ? a / b : 0; }
long op_mod(long a, long b) { return b ? a % b : 0; }
long op_max(long a, long b) { return a > b ? a : b; }

binop_fn ops_local_table[] = { op_add, op_sub, op_mul, op_div, op_mod, op_max };

binop_fn ops_self_add(void) { return op_add; }
binop_fn ops_self(int i) { return ops_local_table[i]; }
