/* tables: function pointers stored in initialised data of other objects and
 * compared for equality across objects, a switch large enough to become a
 * jump table, qsort/bsearch with comparators defined in another object. */
#ifndef TABLES_H
#define TABLES_H
#include <stddef.h>

typedef long (*binop_fn)(long, long);

struct op_entry {
    const char *name;
    binop_fn fn;
    int symbol;               /* an ASCII character, kept as int */
};

struct record {
    const char *name;
    int score;
};

/* ops.c */
long op_add(long a, long b);
long op_sub(long a, long b);
long op_mul(long a, long b);
long op_div(long a, long b);
long op_mod(long a, long b);
long op_max(long a, long b);
binop_fn ops_self_add(void);           /* &op_add taken inside ops.c */
binop_fn ops_self(int i);
extern binop_fn ops_local_table[];     /* ops.c's own table of its functions */

/* table.c */
extern const struct op_entry op_table[];
extern const size_t op_table_len;
extern binop_fn op_by_index[];         /* writable table */
extern binop_fn *const op_cursor;      /* points into op_by_index */
long eval_opcode(int opcode, long a, long b);
const char *opcode_name(int opcode);

/* sortcmp.c */
int cmp_record_score(const void *a, const void *b);
int cmp_record_name(const void *a, const void *b);
int cmp_long(const void *a, const void *b);
extern int (*const default_cmp)(const void *, const void *);

#endif
