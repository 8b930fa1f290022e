/* Registers a destructor the way C++ static objects do: __cxa_atexit with this
   object's own __dso_handle. relink must run it when the object goes away. */
extern void *__dso_handle;
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

static void add_ten(void *p) { *(int *)p += 10; }
void register_handler(int *p) { __cxa_atexit(add_ten, p, &__dso_handle); }
void *my_dso_handle(void) { return &__dso_handle; }
