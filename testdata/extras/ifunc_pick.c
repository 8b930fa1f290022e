int pick_value = 1;
int pick(void) { return pick_value; }
