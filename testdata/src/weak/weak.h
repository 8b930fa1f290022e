/* weak: weak definitions overridden by a strong definition in another object
 * (including calls to the weak function from inside the object that holds the
 * weak default), weak definitions nobody overrides, and weak undefined
 * references that must resolve to NULL. */
#ifndef WEAK_H
#define WEAK_H

/* defaults.c: weak defaults */
const char *backend_name(void);   /* overridden in overrides.c */
int backend_version(void);        /* not overridden */
extern int tuning;                /* overridden: 20 */
extern int retries;               /* not overridden: 3 */
extern const char *motto;         /* overridden */
const char *describe(void);       /* calls backend_name() from defaults.c */
int defaults_tuning(void);        /* reads tuning from defaults.c */
const char *(*defaults_backend_ptr(void))(void);

/* overrides.c: int present_hook(int x); declared (weakly) only in main.c */

#endif
