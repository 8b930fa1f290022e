; Refers to seen_v*'s `seen` (got) and `value`, and stores `value`'s address.
@seen = external global i64
declare i64 @value()

@value_ptr_got = global i64 ()* @value

define i64 @inc_got() {
  %v = load i64, i64* @seen
  %n = add i64 %v, 1
  store i64 %n, i64* @seen
  ret i64 %n
}

define i64 @read_got() {
  %v = call i64 @value()
  ret i64 %v
}
