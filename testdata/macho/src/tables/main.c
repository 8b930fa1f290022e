#include <stdlib.h>
#include "../common/out.h"
#include "tables.h"

static long op_max(long a, long b)
{
    return a > b ? a : b;
}

int main(void)
{
    for (int i = 0; const_ops[i].name; i++) {
        out_str(const_ops[i].name);
        out_str(" ");
        out_int(const_ops[i].fn(12, 5));
        out_nl();
    }
    ops[2].fn = op_max;
    ops[2].name = "max";
    for (int i = 0; ops[i].name; i++) {
        out_str(ops[i].name);
        out_str(" ");
        out_int(ops[i].fn(-3, 8));
        out_nl();
    }
    out_kv("const_ops[0].fn == op_add", const_ops[0].fn == op_add);
    out_kv("ops[0].fn == op_add", ops[0].fn == op_add);
    out_kv("ops[1].fn == op_sub", ops[1].fn == op_sub);
    out_kv("ops[1].fn == op_add", ops[1].fn == op_add);
    out_kv("is_own_add(op_add)", is_own_add(op_add));
    out_kv("is_own_add(ops[0].fn)", is_own_add(ops[0].fn));
    out_kv("is_own_add(op_sub)", is_own_add(op_sub));
    out_kv("*op_cursor == ops[1].fn", *op_cursor == ops[1].fn);
    out_kv("op_private()(7, 6)", op_private()(7, 6));
    out_kv("op_private() == op_mul", op_private() == op_mul);
    long sum = 0;
    for (int c = -2; c < 40; c++)
        sum = (sum * 3 + classify(c)) % 1000000007;
    out_kv("classify hash", sum);
    for (int m = 0; m <= 13; m += 3) {
        out_str(month_name(m));
        out_str(m < 12 ? " " : "\n");
    }
    long v[9] = { 5, -1, 99, 3, 3, 0, -50, 12, 7 };
    qsort(v, 9, sizeof v[0], comparators[0]);
    for (int i = 0; i < 9; i++) {
        out_int(v[i]);
        out_str(i < 8 ? " " : "\n");
    }
    long key = 12;
    long *hit = bsearch(&key, v, 9, sizeof v[0], cmp_long);
    out_kv("bsearch 12 at", hit ? hit - v : -1);
    qsort(v, 9, sizeof v[0], comparators[1]);
    out_kv("desc first", v[0]);
    out_kv("comparators[1] == cmp_long_desc", comparators[1] == cmp_long_desc);
    return 0;
}
