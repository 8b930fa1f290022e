long a_version(void) { return 2; }
