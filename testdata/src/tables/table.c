#include "tables.h"

const struct op_entry op_table[] = {
    { "add", op_add, '+' },
    { "sub", op_sub, '-' },
    { "mul", op_mul, '*' },
    { "div", op_div, '/' },
    { "mod", op_mod, '%' },
    { "max", op_max, 'M' },
};
const size_t op_table_len = sizeof op_table / sizeof op_table[0];

binop_fn op_by_index[] = { op_max, op_mod, op_div, op_mul, op_sub, op_add };
binop_fn *const op_cursor = &op_by_index[2];

/* Dense cases with different code each: compiled to a jump table. */
long eval_opcode(int opcode, long a, long b)
{
    switch (opcode) {
    case 0:  return a + b;
    case 1:  return a - b;
    case 2:  return a * b;
    case 3:  return b ? a / b : -1;
    case 4:  return b ? a % b : -1;
    case 5:  return a << (b & 15);
    case 6:  return a >> (b & 15);
    case 7:  return a & b;
    case 8:  return a | b;
    case 9:  return a ^ b;
    case 10: return op_max(a, b) * 2;
    case 11: return -a + 3 * b;
    case 12: return a * a - b;
    case 13: return (a + 7) / 2 + b;
    case 14: return op_table[(unsigned long)b % op_table_len].fn(a, 3);
    default: return 1000000 + opcode;
    }
}

const char *opcode_name(int opcode)
{
    switch (opcode) {
    case 0:  return "ADD";
    case 1:  return "SUB";
    case 2:  return "MUL";
    case 3:  return "DIV";
    case 4:  return "MOD";
    case 5:  return "SHL";
    case 6:  return "SHR";
    case 7:  return "AND";
    case 8:  return "OR";
    case 9:  return "XOR";
    case 10: return "MAX2";
    case 11: return "NEG3";
    case 12: return "SQSUB";
    case 13: return "HALF";
    case 14: return "TABLE";
    default: return "?";
    }
}
