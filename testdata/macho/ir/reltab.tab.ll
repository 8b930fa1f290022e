; Relative tables: entries that hold the distance from themselves (or from another
; symbol) to functions and data of this module. In Mach-O each entry is an
; X86_64_RELOC_SUBTRACTOR / ARM64_RELOC_SUBTRACTOR + UNSIGNED pair (32 or 64 bits);
; `private` targets have no symbol on x86_64, so their UNSIGNED is section-relative
; (r_extern = 0). Target-neutral: llc gets -mtriple.

@val_a = global i64 11
@val_b = internal global i64 22
@val_c = private global i64 33
@val_d = private constant i64 44

define i64 @fn_one() {
  ret i64 1
}

define internal i64 @fn_two() {
  ret i64 2
}

define private i64 @fn_three() {
  ret i64 3
}

; rel32[i] = target_i - &rel32[i]
@rel32 = constant [5 x i32] [
  i32 trunc (i64 sub (i64 ptrtoint (i64 ()* @fn_one to i64), i64 ptrtoint ([5 x i32]* @rel32 to i64)) to i32),
  i32 trunc (i64 sub (i64 ptrtoint (i64 ()* @fn_two to i64), i64 ptrtoint (i32* getelementptr ([5 x i32], [5 x i32]* @rel32, i64 0, i64 1) to i64)) to i32),
  i32 trunc (i64 sub (i64 ptrtoint (i64 ()* @fn_three to i64), i64 ptrtoint (i32* getelementptr ([5 x i32], [5 x i32]* @rel32, i64 0, i64 2) to i64)) to i32),
  i32 trunc (i64 sub (i64 ptrtoint (i64* @val_c to i64), i64 ptrtoint (i32* getelementptr ([5 x i32], [5 x i32]* @rel32, i64 0, i64 3) to i64)) to i32),
  i32 trunc (i64 sub (i64 add (i64 ptrtoint (i64* @val_d to i64), i64 8), i64 ptrtoint (i32* getelementptr ([5 x i32], [5 x i32]* @rel32, i64 0, i64 4) to i64)) to i32)
]

; rel64[i] = target_i - &rel64[i], in writable data
@rel64 = global [3 x i64] [
  i64 sub (i64 ptrtoint (i64* @val_a to i64), i64 ptrtoint ([3 x i64]* @rel64 to i64)),
  i64 sub (i64 ptrtoint (i64* @val_b to i64), i64 ptrtoint (i64* getelementptr ([3 x i64], [3 x i64]* @rel64, i64 0, i64 1) to i64)),
  i64 sub (i64 ptrtoint (i64 ()* @fn_three to i64), i64 ptrtoint (i64* getelementptr ([3 x i64], [3 x i64]* @rel64, i64 0, i64 2) to i64))
]

; span = &val_b - &val_a and span32 = fn_three - fn_two: differences of two other
; symbols (not of global functions: relink computes differences between real
; addresses, while code takes a global function's address as its stub's)
@span = constant i64 sub (i64 ptrtoint (i64* @val_b to i64), i64 ptrtoint (i64* @val_a to i64))
@span32 = constant i32 trunc (i64 sub (i64 ptrtoint (i64 ()* @fn_three to i64), i64 ptrtoint (i64 ()* @fn_two to i64)) to i32)

; The true values, for main to compare with.
define i64 @span_true() {
  ret i64 sub (i64 ptrtoint (i64* @val_b to i64), i64 ptrtoint (i64* @val_a to i64))
}

define i64 @span32_true() {
  ret i64 sub (i64 ptrtoint (i64 ()* @fn_three to i64), i64 ptrtoint (i64 ()* @fn_two to i64))
}

define i64* @val_b_addr() {
  ret i64* @val_b
}

define i64 ()* @fn_two_addr() {
  ret i64 ()* @fn_two
}
