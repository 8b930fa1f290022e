typedef long (*op_fn)(long, long);

struct op { const char *name; op_fn fn; };

long op_add(long a, long b);
long op_sub(long a, long b);
long op_mul(long a, long b);
op_fn op_private(void);       /* returns the address of a static function */
extern const struct op const_ops[];
extern struct op ops[];
extern op_fn *const op_cursor; /* points into ops */
int classify(int c);          /* switch -> jump table */
const char *month_name(int m); /* switch -> jump table of strings */
int cmp_long(const void *a, const void *b);
int cmp_long_desc(const void *a, const void *b);
extern int (*const comparators[2])(const void *, const void *);
int is_own_add(op_fn f);      /* compares with op_add inside the defining object */
