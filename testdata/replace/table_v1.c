// Constant data another object reads (table_reader.c), and a version without it.
const int table[4] = {10, 20, 30, 40};
long table_version(void) { return 1; }
