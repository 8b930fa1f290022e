/* `relink run ffidriver.o libffi.a` (x86-64): calls through libffi's hand-written
 * assembly trampolines, and a closure; the test compares the output with this
 * program linked to the host's libffi.so. */
#include <ffi.h>
#include <stdio.h>

static double mix(int a, double b, long c, float d, char e) { return a * b + c - d + e; }
static long sum8(long a, long b, long c, long d, long e, long f, long g, long h) {
  return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}
struct pair { int x; double y; };
static struct pair swap(struct pair p) { struct pair q = {(int)p.y, p.x}; return q; }

static void add_closure(ffi_cif *cif, void *ret, void **args, void *user) {
  (void)cif;
  *(ffi_arg *)ret = *(int *)args[0] + *(int *)args[1] + *(int *)user;
}

int main(void) {
  ffi_cif cif;
  ffi_type *mix_args[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_slong, &ffi_type_float, &ffi_type_schar};
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 5, &ffi_type_double, mix_args) != FFI_OK) return 1;
  int a = 3; double b = 2.5; long c = 100; float d = 0.25f; char e = 7; double r;
  void *mix_values[] = {&a, &b, &c, &d, &e};
  ffi_call(&cif, FFI_FN(mix), &r, mix_values);
  printf("mix %.4f\n", r);

  ffi_type *longs[8];
  long v[8]; void *pv[8];
  for (int i = 0; i < 8; i++) { longs[i] = &ffi_type_slong; v[i] = 10 * i + 1; pv[i] = &v[i]; }
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 8, &ffi_type_slong, longs) != FFI_OK) return 2;
  long s;
  ffi_call(&cif, FFI_FN(sum8), &s, pv);
  printf("sum8 %ld\n", s);

  ffi_type *elements[] = {&ffi_type_sint, &ffi_type_double, NULL};
  ffi_type pair_type = {0, 0, FFI_TYPE_STRUCT, elements};
  ffi_type *pair_args[] = {&pair_type};
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &pair_type, pair_args) != FFI_OK) return 3;
  struct pair p = {4, 9.75}, q;
  void *pair_values[] = {&p};
  ffi_call(&cif, FFI_FN(swap), &q, pair_values);
  printf("swap %d %.2f\n", q.x, q.y);

  void *code;
  ffi_closure *closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
  ffi_type *two_ints[] = {&ffi_type_sint, &ffi_type_sint};
  static int bias = 1000;
  if (!closure || ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, two_ints) != FFI_OK ||
      ffi_prep_closure_loc(closure, &cif, add_closure, &bias, code) != FFI_OK)
    return 4;
  int (*add)(int, int) = (int (*)(int, int))code;
  printf("closure %d %d\n", add(1, 2), add(-50, 8));
  ffi_closure_free(closure);
  return 0;
}
