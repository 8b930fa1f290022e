#include "data.h"

int counter;
long shared_total;
int big_common[1 << 18] __attribute__((aligned(64)));
static char zeroed[4 << 20];

int bump(int by)
{
    counter += by;
    return counter;
}

long sum_numbers(void)
{
    long s = 0;
    for (int i = 0; i < 8; i++)
        s += numbers[i];
    return s;
}

int strong_answer(void)
{
    return 7;
}

int zeroed_ok(void)
{
    for (unsigned long i = 0; i < sizeof zeroed; i += 4093)
        if (zeroed[i])
            return 0;
    zeroed[sizeof zeroed - 1] = 1;
    return zeroed[sizeof zeroed - 1];
}
