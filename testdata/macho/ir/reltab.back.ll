; Negative distances: back[i] = &back[i] - target_i, so the place is the UNSIGNED
; side of each SUBTRACTOR pair and the target the SUBTRACTOR's. ELF cannot express
; this (no negated PC-relative relocation): native builds use
; src/reltab/native/back.c instead.

@back_data = global i64 55

; Internal: relink computes differences between real addresses, while a global
; function's address taken anywhere else is its stub's (see README.md).
define internal i64 @back_fn() {
  ret i64 66
}

define i64 ()* @back_fn_addr() {
  ret i64 ()* @back_fn
}

@back = constant [2 x i64] [
  i64 sub (i64 ptrtoint ([2 x i64]* @back to i64), i64 ptrtoint (i64* @back_data to i64)),
  i64 sub (i64 ptrtoint (i64* getelementptr ([2 x i64], [2 x i64]* @back, i64 0, i64 1) to i64), i64 ptrtoint (i64 ()* @back_fn to i64))
]
