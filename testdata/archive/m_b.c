/* Member placed first in lib.a, needed only by m_a.c (placed after it): pulling it
 * takes a second scan of the archive. */
int b_scale = 3;
int b_value(int x) { return x * b_scale; }
