; seen_v1 with value() = seen + 1000.
@seen = dso_local global i64 0, align 8

define dso_local i64 @value() {
  %v = load i64, i64* @seen
  %w = add i64 %v, 1000
  ret i64 %w
}

define dso_local i64 @bump() {
  %v = load i64, i64* @seen
  %n = add i64 %v, 1
  store i64 %n, i64* @seen
  ret i64 %n
}
