struct point { int x, y; const char *label; };

extern int counter;              /* COMMON in main.c, util.c and data.c */
extern long shared_total;        /* COMMON in util.c, initialised in data.c */
extern int big_common[1 << 18];  /* 1 MiB COMMON */
extern int numbers[8];
extern struct point points[3];
extern const char *const words[];
extern int *const number_refs[3];
extern struct point *current_point;
extern int hidden_value __attribute__((visibility("hidden")));
extern const char *greeting;

int bump(int by);
long sum_numbers(void);
int weak_answer(void);
int strong_answer(void);
extern int weak_data;
int zeroed_ok(void);
int missing_function(void) __attribute__((weak));
extern int missing_data __attribute__((weak));
