#include "../common/out.h"

extern const int rel32[5];
extern long rel64[3];
extern const long back[2];
extern const long span;
extern const int span32;
extern long val_a;
extern long back_data;
long (*back_fn_addr(void))(void);
long span_true(void);
long span32_true(void);
long *val_b_addr(void);
long (*fn_two_addr(void))(void);

typedef long (*fn)(void);

static const void *from32(int i)
{
    return (const char *)&rel32[i] + rel32[i];
}

static const void *from64(int i)
{
    return (const char *)&rel64[i] + rel64[i];
}

int main(void)
{
    out_kv("rel32[0] calls", ((fn)from32(0))());
    out_kv("rel32[1] calls", ((fn)from32(1))());
    out_kv("rel32[2] calls", ((fn)from32(2))());
    out_kv("rel32[3] reads", *(const long *)from32(3));
    out_kv("rel32[4] reads", *((const long *)from32(4) - 1));
    out_kv("rel32[1] == fn_two", from32(1) == (const void *)fn_two_addr());
    out_kv("rel64[0] reads", *(const long *)from64(0));
    out_kv("rel64[1] reads", *(const long *)from64(1));
    out_kv("rel64[2] calls", ((fn)from64(2))());
    out_kv("rel64[0] == &val_a", from64(0) == (const void *)&val_a);
    out_kv("rel64[1] == val_b", from64(1) == (const void *)val_b_addr());
    out_kv("back[0] reads", *(const long *)((const char *)&back[0] - back[0]));
    out_kv("back[1] calls", ((fn)((const char *)&back[1] - back[1]))());
    out_kv("back[0] right", (const char *)&back[0] - back[0] == (const char *)&back_data);
    out_kv("back[1] right", (const char *)&back[1] - back[1] == (const char *)back_fn_addr());
    out_kv("span right", span == span_true());
    out_kv("span32 right", span32 == span32_true());
    val_a = 5;
    out_kv("rel64[0] reads after write", *(const long *)from64(0));
    return 0;
}
