// flags: -fno-pic -fno-pie
extern const long timezone;
long read_tz(void) { return timezone; }
