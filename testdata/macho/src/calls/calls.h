struct pair { long a, b; };
struct big { long v[6]; };

int is_even(unsigned n);
int is_odd(unsigned n);
long hof_f(long n);
long hof_m(long n);
long apply(long (*f)(long), long x);
long ping_twice(long x);
struct pair pair_swap(struct pair p);
struct big big_make(long seed);
const char *pong_name(int i);
double scaled(double x);
float halved(float x);
long checksum(const char *s);
extern const double ping_weights[4];
