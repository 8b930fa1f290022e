; Refers to seen_v*'s `seen` (direct) and `value`, and stores `value`'s address.
@seen = external dso_local global i64
declare dso_local i64 @value()

@value_ptr_direct = global i64 ()* @value

define i64 @inc_direct() {
  %v = load i64, i64* @seen
  %n = add i64 %v, 1
  store i64 %n, i64* @seen
  ret i64 %n
}

define i64 @read_direct() {
  %v = call i64 @value()
  ret i64 %v
}
