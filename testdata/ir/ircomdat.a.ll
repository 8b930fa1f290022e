; ircomdat, module "a": COMDAT groups as C++ inline functions and inline
; variables produce them. a.ll and b.ll both define the same groups; the
; linker must keep one copy of each group (the first it sees) and make both
; modules use it: one shared_counter, one address for shared_helper.
; Also: a weak_odr variable, a linkonce_odr function without its own data,
; a group with two members (function + its guard-like data), and a call to an
; alias defined in main.ll.

$shared_counter = comdat any
$shared_helper = comdat any
$pair_fn = comdat any

@shared_counter = linkonce_odr global i32 0, comdat, align 4
@weak_odr_value = weak_odr global i32 77, align 4
@pair_state = linkonce_odr global i32 1000, comdat($pair_fn), align 4

@.fmt = private unnamed_addr constant [39 x i8] c"a: counter=%d helper(5)=%d pair(1)=%d\0A\00", align 1

declare i32 @printf(i8*, ...)
declare i32 @main_alias(i32)

define linkonce_odr i32 @shared_helper(i32 %x) #0 comdat {
  %m = mul i32 %x, 3
  %r = add i32 %m, 1
  ret i32 %r
}

; Two members in one group: function and data, kept or dropped together.
define linkonce_odr i32 @pair_fn(i32 %x) #0 comdat {
  %s = load i32, i32* @pair_state, align 4
  %n = add i32 %s, %x
  store i32 %n, i32* @pair_state, align 4
  ret i32 %n
}

define i32 @a_bump() #0 {
  %c = load i32, i32* @shared_counter, align 4
  %c1 = add i32 %c, 1
  store i32 %c1, i32* @shared_counter, align 4
  %h = call i32 @shared_helper(i32 5)
  %p = call i32 @pair_fn(i32 1)
  %f = getelementptr inbounds [39 x i8], [39 x i8]* @.fmt, i64 0, i64 0
  %r = call i32 (i8*, ...) @printf(i8* %f, i32 %c1, i32 %h, i32 %p)
  ret i32 %c1
}

define i8* @a_helper_addr() #0 {
  ret i8* bitcast (i32 (i32)* @shared_helper to i8*)
}

define i32* @a_counter_addr() #0 {
  ret i32* @shared_counter
}

define i32 @a_call_alias(i32 %x) #0 {
  %r = call i32 @main_alias(i32 %x)
  ret i32 %r
}

attributes #0 = { nounwind uwtable }
