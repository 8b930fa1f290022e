; ircomdat, module "b": the same COMDAT groups as a.ll (identical contents,
; as the ODR requires); b's copies must be discarded in favour of a's, and b's
; own references must then reach a's copies.

$shared_counter = comdat any
$shared_helper = comdat any
$pair_fn = comdat any

@shared_counter = linkonce_odr global i32 0, comdat, align 4
@weak_odr_value = weak_odr global i32 77, align 4
@pair_state = linkonce_odr global i32 1000, comdat($pair_fn), align 4
@b_table = global [2 x i8*] [i8* bitcast (i32 (i32)* @shared_helper to i8*), i8* bitcast (i32* @shared_counter to i8*)], align 8

@.fmt = private unnamed_addr constant [39 x i8] c"b: counter=%d helper(7)=%d pair(2)=%d\0A\00", align 1

declare i32 @printf(i8*, ...)

define linkonce_odr i32 @shared_helper(i32 %x) #0 comdat {
  %m = mul i32 %x, 3
  %r = add i32 %m, 1
  ret i32 %r
}

define linkonce_odr i32 @pair_fn(i32 %x) #0 comdat {
  %s = load i32, i32* @pair_state, align 4
  %n = add i32 %s, %x
  store i32 %n, i32* @pair_state, align 4
  ret i32 %n
}

define i32 @b_bump() #0 {
  %c = load i32, i32* @shared_counter, align 4
  %c1 = add i32 %c, 10
  store i32 %c1, i32* @shared_counter, align 4
  %h = call i32 @shared_helper(i32 7)
  %p = call i32 @pair_fn(i32 2)
  %w = load i32, i32* @weak_odr_value, align 4
  %w1 = add i32 %w, 1
  store i32 %w1, i32* @weak_odr_value, align 4
  %f = getelementptr inbounds [39 x i8], [39 x i8]* @.fmt, i64 0, i64 0
  %r = call i32 (i8*, ...) @printf(i8* %f, i32 %c1, i32 %h, i32 %p)
  ret i32 %c1
}

define i8* @b_helper_addr() #0 {
  ret i8* bitcast (i32 (i32)* @shared_helper to i8*)
}

define i32* @b_counter_addr() #0 {
  ret i32* @shared_counter
}

attributes #0 = { nounwind uwtable }
