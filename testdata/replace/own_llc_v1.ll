; llc pic's form of own_v1.c: `own` is preemptible (not dso_local), so the
; object's own code loads its address from the GOT (x86-64: a plain GOTPCREL,
; not GOTPCRELX; AArch64: adrp + ldr :got_lo12:).
@own = global i64 5, align 8
@own_ptr = global i64* @own, align 8

define i64 @own_bump() {
  %v = load i64, i64* @own
  %n = add i64 %v, 1
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
