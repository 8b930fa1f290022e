/* A strong reference to weak_companion pulls m_weak.o; weak_target then binds. */
extern int weak_target(void) __attribute__((weak));
extern int weak_companion(void);
int use_companion(void) { return (weak_target ? weak_target() : -1) + weak_companion(); }
