#include "data.h"

int counter;
long shared_total = 4242;
int numbers[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
struct point points[3] = { { 1, 2, "first" }, { 3, 4, "second" }, { -5, 6, "third" } };
const char *const words[] = { "alpha", "beta", "gamma", "delta", 0 };
int *const number_refs[3] = { &numbers[0], &numbers[5], &numbers[7] };
struct point *current_point = &points[0];
__attribute__((visibility("hidden"))) int hidden_value = 77;
static const char hello[] = "hello from data.c";
const char *greeting = hello;

/* Overridden by util.c's strong definition. */
__attribute__((weak)) int strong_answer(void)
{
    return -1;
}

/* Nobody overrides these. */
__attribute__((weak)) int weak_answer(void)
{
    return 42 + strong_answer();
}
__attribute__((weak)) int weak_data = 99;
