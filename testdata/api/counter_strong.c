/* A strong `counter`, which takes over from lib_weak.c's weak one. */
int counter = 7;
