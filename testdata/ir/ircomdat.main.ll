; ircomdat, module "main": aliases (to a function, and to an element inside an
; array with an offset), private and internal symbols, a protected global, and
; checks that a.ll and b.ll ended up sharing one copy of each COMDAT group.
; main returns 7.

@numbers = internal global [4 x i32] [i32 11, i32 22, i32 33, i32 44], align 4
@third_number = alias i32, getelementptr inbounds ([4 x i32], [4 x i32]* @numbers, i64 0, i64 2)
@main_alias = alias i32 (i32), i32 (i32)* @real_fn
@protected_value = protected global i32 5, align 4
@weak_odr_value = external global i32, align 4
@shared_counter = external global i32, align 4
@b_table = external global [2 x i8*], align 8

@.fmt.addr = private unnamed_addr constant [52 x i8] c"same helper: %d %d, same counter: %d %d, table: %d\0A\00", align 1
@.fmt.vals = private unnamed_addr constant [55 x i8] c"counter=%d weak_odr=%d third=%d alias(4)=%d direct=%d\0A\00", align 1

declare i32 @printf(i8*, ...)
declare i32 @a_bump()
declare i32 @b_bump()
declare i8* @a_helper_addr()
declare i8* @b_helper_addr()
declare i32* @a_counter_addr()
declare i32* @b_counter_addr()
declare i32 @a_call_alias(i32)

define internal i32 @real_fn(i32 %x) #0 {
  %p = load i32, i32* @protected_value, align 4
  %m = mul i32 %x, %p
  ret i32 %m
}

define i32 @main(i32 %argc, i8** %argv) #0 {
  %a1 = call i32 @a_bump()
  %b1 = call i32 @b_bump()
  %a2 = call i32 @a_bump()

  %ha = call i8* @a_helper_addr()
  %hb = call i8* @b_helper_addr()
  %ca = call i32* @a_counter_addr()
  %cb = call i32* @b_counter_addr()
  %t0 = load i8*, i8** getelementptr inbounds ([2 x i8*], [2 x i8*]* @b_table, i64 0, i64 0), align 8
  %e1 = icmp eq i8* %ha, %hb
  %e2 = icmp eq i8* %hb, %t0
  %e3 = icmp eq i32* %ca, %cb
  %e4 = icmp eq i32* %ca, @shared_counter
  %e5 = icmp ne i8* %t0, null
  %z1 = zext i1 %e1 to i32
  %z2 = zext i1 %e2 to i32
  %z3 = zext i1 %e3 to i32
  %z4 = zext i1 %e4 to i32
  %z5 = zext i1 %e5 to i32
  %fa = getelementptr inbounds [52 x i8], [52 x i8]* @.fmt.addr, i64 0, i64 0
  %r1 = call i32 (i8*, ...) @printf(i8* %fa, i32 %z1, i32 %z2, i32 %z3, i32 %z4, i32 %z5)

  %c = load i32, i32* @shared_counter, align 4
  %w = load i32, i32* @weak_odr_value, align 4
  %t = load i32, i32* @third_number, align 4
  %al = call i32 @a_call_alias(i32 4)
  %d = call i32 @main_alias(i32 6)
  %fv = getelementptr inbounds [55 x i8], [55 x i8]* @.fmt.vals, i64 0, i64 0
  %r2 = call i32 (i8*, ...) @printf(i8* %fv, i32 %c, i32 %w, i32 %t, i32 %al, i32 %d)
  ret i32 7
}

attributes #0 = { nounwind uwtable }
