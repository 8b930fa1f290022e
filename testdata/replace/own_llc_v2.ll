; own_llc_v1.ll's next version: same variables, new code.
@own = global i64 50, align 8
@own_ptr = global i64* @own, align 8

define i64 @own_bump() {
  %v = load i64, i64* @own
  %n = add i64 %v, 10
  store i64 %n, i64* @own
  ret i64 %n
}

define i64* @own_addr() {
  ret i64* @own
}

define i64* @own_stored() {
  %p = load volatile i64*, i64** @own_ptr
  ret i64* %p
}
