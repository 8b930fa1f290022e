// `hits` is ordinary data in version 1 and thread-local in version 2.
int hits;
long hit(void) { return ++hits; }
