/* Sections aligned to 4 KiB and 64 KiB, in code, read-only, data and zero-fill. */
__attribute__((aligned(65536))) int big_zero[4];
__attribute__((aligned(4096))) int page_data[4] = {1, 2, 3, 4};
__attribute__((aligned(65536))) const int big_const[4] = {5, 6, 7, 8};
__attribute__((aligned(4096))) int aligned_fn(int x) { return x * 7 + page_data[1] + big_const[2] + big_zero[0]; }
