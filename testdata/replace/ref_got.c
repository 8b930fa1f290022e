// A referrer of seen_v*.o for benches/replace.rs: it calls `value`, stores its
// address, and reads and writes `seen` through the GOT. It defines no global
// name, so it can be loaded any number of times.
extern long seen;
extern long value(void);
static long (*volatile stored)(void) = value;
__attribute__((used)) static long use(void) { return ++seen + value() + stored(); }
