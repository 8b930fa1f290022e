#include "../common/out.h"

int counter = 7;
long c_triple(long x)
{
    return 3 * x;
}

long *addend_address(void);
long load_sizes(void);
void store_slot(long v);
int got_reads(void);
long branch_addend(void);
const long *rel_target(long i);
const long *rel64_target(void);
extern const long longs[5];
extern long slot[2];
extern struct {
    const long *p;
    long (*f)(long);
    unsigned int w[2];
} pointers;

int main(void)
{
    out_kv("addend_address is &longs[2]", addend_address() == &longs[2]);
    out_kv("*addend_address()", *addend_address());
    out_kv("load_sizes", load_sizes());
    store_slot(-123);
    out_kv("slot[0]", slot[0]);
    out_kv("slot[1]", slot[1]);
    out_kv("got_reads", got_reads());
    counter = 9;
    out_kv("got_reads after write", got_reads());
    out_kv("branch_addend", branch_addend());
    out_kv("*rel_target(0)", *rel_target(0));
    out_kv("*(int *)rel_target(1)", *(const int *)rel_target(1));
    out_kv("*rel64_target()", *rel64_target());
    out_kv("*pointers.p", *pointers.p);
    out_kv("pointers.f(5)", pointers.f(5));
    out_kv("pointers.f == c_triple", pointers.f == c_triple);
    out_kv("*(long *)pointers.w[0]", *(const long *)(unsigned long)pointers.w[0]);
    return 0;
}
