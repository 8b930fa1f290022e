// `vec` 16-aligned after 16 bytes of `pad`; version 2 asks for 32 (same size).
float pad[4] = {1, 2, 3, 4};
float vec[8] __attribute__((aligned(16))) = {1, 1, 1, 1, 1, 1, 1, 1};
long vec_version(void) { return 1; }
