/* One object of the model test (tests/model.rs), built per object I (0..11) and
 * version V (1..4) by testdata/build-model.sh: -DI=.. -DV=.. -DQ=.. -DR=..
 *   Q = I ^ 1      the cycle partner: called (g), its variables read and written
 *   R = (I+2) % 12 reached through pointers stored in data (fp, tp)
 * Versions:
 *   v1  everything: refers to Q's v, t and w, R's t
 *   v2  drops w; refers to no other object's variable (only to Q_f and R_f)
 *   v3  t grows from 4 to 8 ints (moves); refers to Q's v and t, R's t (not w)
 *   v4  as v1, and calls model_nowhere_I, which nothing defines
 * HIDDEN (gcc -fPIE flavour): extern declarations are hidden, so every reference
 * to another object is PC-relative and direct instead of through the GOT.
 * tests/model.rs encodes the same table (Version::*); keep them in step. */
#define CAT4(a, b, c, d) a##b##c##d
#define XCAT4(a, b, c, d) CAT4(a, b, c, d)
#define NAME(x) XCAT4(m, I, _, x)
#define PEER(x) XCAT4(m, Q, _, x)
#define RPEER(x) XCAT4(m, R, _, x)
#define XCAT2(a, b) CAT2(a, b)
#define CAT2(a, b) a##b
#ifdef HIDDEN
#define EXT extern __attribute__((visibility("hidden")))
#else
#define EXT extern
#endif
#define BASE (1000 * I + 10 * V)
#define NOINLINE __attribute__((noinline))

/* Own variables. */
int NAME(v) = BASE;
#if V != 2
int NAME(w) = BASE + 1;
#endif
#if V == 3
int NAME(t)[8] = {BASE + 2, BASE + 3, BASE + 4, BASE + 5, BASE + 6, BASE + 7, BASE + 8, BASE + 9};
#else
int NAME(t)[4] = {BASE + 2, BASE + 3, BASE + 4, BASE + 5};
#endif
static const int ro[2] = {7 * V + I, 70 * V + I};
static int fs = 3 * V;

/* Own functions. */
NOINLINE int NAME(f)(int x) { return x + 100 * V + I; }
NOINLINE int NAME(ov)(void) { return NAME(v); }
NOINLINE void NAME(sov)(int x) { NAME(v) = x; }
NOINLINE int NAME(ot)(int k) { return NAME(t)[k]; }
NOINLINE int NAME(sfs)(int d) { return fs += d; }
NOINLINE int NAME(bump)(void) { static int calls = 50 * V; return ++calls; }
static NOINLINE int k(int x) { return 3 * x + V; }
/* Pointers into this object's own code and read-only data. */
int (*NAME(kp))(int) = k;
const int *NAME(rp) = &ro[1];
NOINLINE int NAME(callkp)(int x) { return NAME(kp)(x); }

/* Other objects' functions: called, and pointed to from data. */
EXT int PEER(f)(int);
EXT int RPEER(f)(int);
NOINLINE int NAME(g)(int x) { return PEER(f)(x) + 1; }
int (*NAME(fp))(int) = RPEER(f);
NOINLINE int NAME(h)(int x) { return NAME(fp)(x) + 2; }

#if V != 2
/* Other objects' variables: read and written by code, pointed to from data. */
EXT int PEER(v);
EXT int PEER(t)[];
EXT int RPEER(t)[];
NOINLINE int NAME(rv)(void) { return PEER(v); }
NOINLINE void NAME(wv)(int x) { PEER(v) = x; }
NOINLINE int NAME(rt)(int k) { return PEER(t)[k]; }
int *NAME(vp) = &PEER(v);
int *NAME(tp) = &RPEER(t)[1];
#endif
#if V == 1 || V == 4
EXT int PEER(w);
NOINLINE int NAME(rw)(void) { return PEER(w); }
#endif
#if V == 4
EXT int XCAT2(model_nowhere_, I)(int);
NOINLINE int NAME(u)(int x) { return XCAT2(model_nowhere_, I)(x) + 1; }
#endif
