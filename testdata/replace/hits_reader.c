extern int hits;
long read_hits(void) { return hits; }
