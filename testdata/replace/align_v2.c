float pad[4] = {1, 2, 3, 4};
float vec[8] __attribute__((aligned(32))) = {2, 2, 2, 2, 2, 2, 2, 2};
long vec_version(void) { return 2; }
