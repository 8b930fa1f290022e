/* A cleanup that must run while a C++ exception thrown beyond this frame
 * (`may_throw`, in thrower.cpp, an ELF object) unwinds through it; the host
 * catches the exception. tests/macho.rs counts the cleanups. */
int released;

static void release(int *p) { released += *p; }

void may_throw(int);

int guarded_call(int x)
{
    int v __attribute__((cleanup(release))) = x;
    may_throw(v);
    return v + 1;
}
