// The strong definition that wins over own_weak.c's.
long contested = 2;
