/* A new version of m_b.c, for replacing the archive member. */
int b_scale = 3;
int b_value(int x) { return x * b_scale + 1000; }
