int counter_run(int n);

int main(void) { return counter_run(4) == 22 ? 0 : 1; }
