#include "weak.h"

const char *backend_name(void) { return "strong-backend"; }
int tuning = 20;
const char *motto = "strong motto";

int present_hook(int x) { return x * 100 + 7; }
