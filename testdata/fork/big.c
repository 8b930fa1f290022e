/* Loaded data for measuring what fork() costs per MiB (tests/fork.rs,
   fork_cost_per_mib): fill() writes the first `mib` MiB of a zero-fill array. */
#include <string.h>

char big[256 << 20];

void fill(int mib)
{
    memset(big, 1, (size_t)mib << 20);
}
