/* STT_GNU_IFUNC: a global and a local (static) ifunc; each resolver counts its runs. */
int resolver_runs;
int local_resolver_runs;

static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }
static int plus_one(int x) { return x + 1; }

/* The resolver calls another function: it must run once relocated. */
int pick(void);
static int (*resolve_scale(void))(int) {
    resolver_runs++;
    return pick() ? thrice : twice;
}
int scale(int x) __attribute__((ifunc("resolve_scale")));

static int (*resolve_bump(void))(int) {
    local_resolver_runs++;
    return plus_one;
}
static int bump(int x) __attribute__((ifunc("resolve_bump")));

/* In-object calls to both. */
int use_scale(int x) { return scale(x) + 100; }
int use_bump(int x) { return bump(x) * 10; }
/* Pointers in data to both. */
int (*const scale_ptr)(int) = scale;
int (*bump_ptr)(int) = bump;
int call_bump_ptr(int x) { return bump_ptr(x); }
