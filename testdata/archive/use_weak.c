/* A weak undefined reference pulls nothing: weak_target stays NULL. */
extern int weak_target(void) __attribute__((weak));
int use_weak(void) { return weak_target ? weak_target() : -1; }
