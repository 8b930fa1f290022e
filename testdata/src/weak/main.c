#include <stdio.h>
#include "weak.h"

/* Never defined anywhere: weak undefined, must be NULL. Unusual names so the
 * host process cannot accidentally provide them. */
extern void relink_test_absent_function(void) __attribute__((weak));
extern int relink_test_absent_data __attribute__((weak));
/* Defined (strongly) in overrides.c but only referenced weakly from here. */
extern int present_hook(int x) __attribute__((weak));

int main(void)
{
    printf("backend_name()=%s backend_version()=%d\n", backend_name(), backend_version());
    printf("describe()=%s\n", describe());
    printf("tuning=%d (defaults sees %d) retries=%d motto=%s\n", tuning, defaults_tuning(),
           retries, motto);
    tuning = 33;
    printf("after write: defaults sees %d\n", defaults_tuning());
    printf("pointer from defaults.c == backend_name: %d\n",
           defaults_backend_ptr() == backend_name);

    printf("absent function: %s\n", relink_test_absent_function ? "present" : "absent (NULL)");
    printf("absent data: %s\n", &relink_test_absent_data ? "present" : "absent (NULL)");
    if (relink_test_absent_function)
        relink_test_absent_function();
    if (present_hook)
        printf("present_hook(4)=%d\n", present_hook(4));
    else
        printf("present_hook missing!\n");
    return 0;
}
