/* dup_fn is defined here and in m_dup2.c: the first in the index wins. */
int dup_fn(void) { return 1; }
int dup_only1(void) { return 11; }
