#include "../common/out.h"
#include "ctors.h"

static int main_seen = -1;

__attribute__((constructor)) static void main_init(void)
{
    main_seen = derived_value + 1;
    record(4);
    out_kv("ctor main.c: main_seen", main_seen);
}

__attribute__((destructor)) static void main_fini(void)
{
    out_str("dtor main.c: runs first\n");
}

int main(void)
{
    out_kv("main: base_value", base_value);
    out_kv("main: derived_value", derived_value);
    out_kv("main: main_seen", main_seen);
    out_str("main: late_status ");
    out_str(late_status);
    out_nl();
    out_str("main: constructor order:");
    for (int i = 0; i < recorded && i < 8; i++) {
        out_str(" ");
        out_int(sequence[i]);
    }
    out_nl();
    return recorded;
}
