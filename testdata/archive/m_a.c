/* Pulled for a_entry; needs m_b.c's b_value, also from its constructor, which must
 * run only once both members are linked. */
extern int b_value(int);
int a_ctor_seen;
__attribute__((constructor)) static void a_init(void) { a_ctor_seen = b_value(7); }
int a_entry(int x) { return b_value(x) + 1; }
