#include <stdio.h>

unsigned char target_bytes[16];
unsigned char target_b1;
unsigned short target_b2;
unsigned int target_b4;
long c_twice(long x)
{
    return 2 * x + 1;
}

void store_extern(void);
void store_local(void);
long sum_local(void);
long sum_local_b(void);
long got_reads(void);
long branch_twice(long x);
int read_words(void);
const int *rel_target(long i);
const int *rel64_target(void);
extern struct {
    void *p[3];
    unsigned int w[2];
} pointers;
extern const int words[4];

int main(void)
{
    store_extern();
    printf("target_bytes:");
    for (int i = 0; i < 16; i++)
        printf(" %02x", target_bytes[i]);
    printf("\n");
    printf("target_b1 %#x target_b2 %#x target_b4 %#x\n", target_b1, target_b2, target_b4);
    store_local();
    printf("sum_local %ld\n", sum_local());
    printf("sum_local_b %#lx\n", sum_local_b());
    target_bytes[12] = 0x5a;
    target_bytes[13] = 0xa5;
    printf("got_reads %#lx\n", got_reads());
    printf("branch_twice(10) %ld\n", branch_twice(10));
    printf("read_words %d\n", read_words());
    printf("rel_target(0) %d\n", *rel_target(0));
    printf("rel_target(1) %d\n", *rel_target(1));
    printf("rel64_target %d\n", *rel64_target());
    printf("pointers.p[0] == &target_bytes[3]: %d\n", pointers.p[0] == &target_bytes[3]);
    printf("*pointers.p[1] %d\n", *(unsigned char *)pointers.p[1]);
    printf("pointers.p[2](4) %ld\n", ((long (*)(long))pointers.p[2])(4));
    printf("*pointers.w[0] %d\n", *(const int *)(unsigned long)pointers.w[0]);
    printf("*pointers.w[1] %d\n", *(const int *)(unsigned long)pointers.w[1]);
    return 0;
}
