/* A cleanup that must run while a C++ exception thrown beyond this frame
 * (`may_throw`, in thrower.cpp, an ELF object) unwinds through it and through
 * `squeeze`; the host catches the exception. tests/macho.rs counts the cleanups. */
int released;

static void release(int *p) { released += *p; }

void may_throw(int);
long mix(int x, int k);
double fmix(int x, int k);

/* Between guarded_call and the throw: keeps ten opaque values in x19-x28 and four
 * in d8-d15 across its call (arm64 compact unwind: every register pair), so the
 * unwinder must restore guarded_call's x19 (its `v`, read by the cleanup) from the
 * slot the pair encoding names. */
__attribute__((noinline)) int squeeze(int x)
{
    long a = mix(x, 1), b = mix(x, 2), c = mix(x, 3), d = mix(x, 4), e = mix(x, 5);
    long f = mix(x, 6), g = mix(x, 7), h = mix(x, 8), i = mix(x, 9), j = mix(x, 10);
    double p = fmix(x, 1), q = fmix(x, 2), r = fmix(x, 3), s = fmix(x, 4);
    may_throw(x);
    return (int)(a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i ^ j) + (int)(p * q + r * s);
}

int guarded_call(int x)
{
    int v __attribute__((cleanup(release))) = x;
    int r = squeeze(v);
    return v + 1 + (r & 0);
}
