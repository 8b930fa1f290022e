long table_version(void) { return 2; }
