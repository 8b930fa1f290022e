; A variable the object reaches through its own local alias (llc pic reaches a
; dso_local variable section-relative), read and bumped by the object itself.
@seen = dso_local global i64 0, align 8

define dso_local i64 @value() {
  %v = load i64, i64* @seen
  ret i64 %v
}

define dso_local i64 @bump() {
  %v = load i64, i64* @seen
  %n = add i64 %v, 1
  store i64 %n, i64* @seen
  ret i64 %n
}
