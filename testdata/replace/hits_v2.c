__thread int hits;
long hit(void) { return ++hits; }
