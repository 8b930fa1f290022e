/* A new version of ifunc.c: its resolver picks another implementation. */
int resolver_runs;
int local_resolver_runs;

static int times_ten(int x) { return 10 * x; }
static int minus_one(int x) { return x - 1; }

static int (*resolve_scale(void))(int) {
    resolver_runs++;
    return times_ten;
}
int scale(int x) __attribute__((ifunc("resolve_scale")));

static int (*resolve_bump(void))(int) {
    local_resolver_runs++;
    return minus_one;
}
static int bump(int x) __attribute__((ifunc("resolve_bump")));

int use_scale(int x) { return scale(x) + 100; }
int use_bump(int x) { return bump(x) * 10; }
int (*const scale_ptr)(int) = scale;
int (*bump_ptr)(int) = bump;
int call_bump_ptr(int x) { return bump_ptr(x); }
