// flags: -fPIE
// As ref_got.c, with `seen` read and written directly (PIE code's PC-relative
// references to an extern variable: sites relink records and re-patches).
extern long seen;
extern long value(void);
static long (*volatile stored)(void) = value;
__attribute__((used)) static long use(void) { return ++seen + value() + stored(); }
