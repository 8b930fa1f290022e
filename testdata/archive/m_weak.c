/* Referred to only weakly by use_weak.c: not pulled for that. */
int weak_target(void) { return 99; }
int weak_companion(void) { return 5; }
