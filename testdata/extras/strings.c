/* Mergeable strings (.rodata.str1.1), a zero-size section, and .data.rel.ro. */
#include <string.h>
__attribute__((section(".data.empty"))) char empty_section[0];
const char *const messages[] = {"alpha", "beta", "gamma"};   /* .data.rel.ro (PIC) */
static const char *pick_message(int i) { return messages[i % 3]; }
int message_len(int i) { return (int)strlen(pick_message(i)) + (int)strlen("alpha"); }
int same_literal(void) { return "beta"[0] == messages[1][0]; }
