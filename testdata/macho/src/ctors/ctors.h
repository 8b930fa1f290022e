extern int base_value;
extern int derived_value;
extern char late_status[16];
void record(int id);
extern int sequence[8];
extern int recorded;
