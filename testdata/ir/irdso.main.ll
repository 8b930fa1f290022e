; irdso, module "main": reaches lib.ll's globals as dso_local (direct,
; PC-relative even with -relocation-model=pic, as an executable would with
; copy relocations) and as preemptible (through the GOT), stores their
; addresses in its own data, compares addresses, and has constructors and
; destructors whose priorities interleave with lib.ll's:
;   ctors: 101 (main), 200 (lib), 300 (main), 65535 (lib), 65535 (main)
;   dtors run in reverse: 65535 (main), 400 (main), 150 (lib)
; main returns 42.

@dso_counter = external dso_local global i32, align 4
@preempt_counter = external global i32, align 4
@hidden_value = external hidden global i32, align 4
@preempt_table = external global [4 x i64], align 8
@ptr_to_preempt = external global i32*, align 8
@ptr_to_table_2 = external global i64*, align 8
@ctor_log = external global [8 x i32], align 4
@ctor_log_len = external global i32, align 4

@main_ptrs = global [2 x i32*] [i32* @preempt_counter, i32* @dso_counter], align 8
@seen_at_101 = internal global i32 -1, align 4

@.fmt.ctor = private unnamed_addr constant [31 x i8] c"ctor %d (main.ll): log_len=%d\0A\00", align 1
@.fmt.dtor = private unnamed_addr constant [19 x i8] c"dtor %d (main.ll)\0A\00", align 1
@.fmt.vals = private unnamed_addr constant [46 x i8] c"preempt=%d dso=%d hidden=%d (lib sees %d %d)\0A\00", align 1
@.fmt.ptrs = private unnamed_addr constant [59 x i8] c"&preempt: main==lib_ptr %d main==lib_fn %d main_ptrs %d%d\0A\00", align 1
@.fmt.table = private unnamed_addr constant [39 x i8] c"table sum=%ld *ptr_to_table_2=%ld %ld\0A\00", align 1
@.fmt.log = private unnamed_addr constant [28 x i8] c"ctor log (%d): %d %d %d %d\0A\00", align 1
@.fmt.seen = private unnamed_addr constant [18 x i8] c"seen_at_101 = %d\0A\00", align 1

declare i32 @printf(i8*, ...)
declare void @log_ctor(i32)
declare i32 @lib_read_preempt()
declare dso_local i32 @lib_read_dso()
declare i32* @lib_addr_of_preempt()
declare void @lib_bump(i32)
declare i64 @lib_table_sum()

define internal void @main_ctor(i32 %prio) #0 {
  call void @log_ctor(i32 %prio)
  %len = load i32, i32* @ctor_log_len, align 4
  %f = getelementptr inbounds [31 x i8], [31 x i8]* @.fmt.ctor, i64 0, i64 0
  %r = call i32 (i8*, ...) @printf(i8* %f, i32 %prio, i32 %len)
  ret void
}

define internal void @main_ctor_101() #0 {
  ; nothing from lib.ll has run yet: its default-priority ctor sets hidden_value later
  %h = load i32, i32* @hidden_value, align 4
  store i32 %h, i32* @seen_at_101, align 4
  call void @main_ctor(i32 101)
  ret void
}

define internal void @main_ctor_300() #0 {
  call void @main_ctor(i32 300)
  ret void
}

define internal void @main_ctor_default() #0 {
  call void @main_ctor(i32 65535)
  ret void
}

define internal void @main_dtor(i32 %prio) #0 {
  %f = getelementptr inbounds [19 x i8], [19 x i8]* @.fmt.dtor, i64 0, i64 0
  %r = call i32 (i8*, ...) @printf(i8* %f, i32 %prio)
  ret void
}

define internal void @main_dtor_400() #0 {
  call void @main_dtor(i32 400)
  ret void
}

define internal void @main_dtor_default() #0 {
  call void @main_dtor(i32 65535)
  ret void
}

define internal void @print_values() #0 {
  %p = load i32, i32* @preempt_counter, align 4
  %d = load i32, i32* @dso_counter, align 4
  %h = load i32, i32* @hidden_value, align 4
  %lp = call i32 @lib_read_preempt()
  %ld = call i32 @lib_read_dso()
  %f = getelementptr inbounds [46 x i8], [46 x i8]* @.fmt.vals, i64 0, i64 0
  %r = call i32 (i8*, ...) @printf(i8* %f, i32 %p, i32 %d, i32 %h, i32 %lp, i32 %ld)
  ret void
}

define i32 @main(i32 %argc, i8** %argv) #0 {
  call void @print_values()
  store i32 70, i32* @preempt_counter, align 4
  store i32 50, i32* @dso_counter, align 4
  call void @print_values()
  call void @lib_bump(i32 3)
  call void @print_values()

  ; the address of preempt_counter, obtained four ways
  %lib_ptr = load i32*, i32** @ptr_to_preempt, align 8
  %eq1 = icmp eq i32* %lib_ptr, @preempt_counter
  %lib_fn = call i32* @lib_addr_of_preempt()
  %eq2 = icmp eq i32* %lib_fn, @preempt_counter
  %mp0 = load i32*, i32** getelementptr inbounds ([2 x i32*], [2 x i32*]* @main_ptrs, i64 0, i64 0), align 8
  %eq3 = icmp eq i32* %mp0, %lib_fn
  %mp1 = load i32*, i32** getelementptr inbounds ([2 x i32*], [2 x i32*]* @main_ptrs, i64 0, i64 1), align 8
  %eq4 = icmp eq i32* %mp1, @dso_counter
  %e1 = zext i1 %eq1 to i32
  %e2 = zext i1 %eq2 to i32
  %e3 = zext i1 %eq3 to i32
  %e4 = zext i1 %eq4 to i32
  %fp = getelementptr inbounds [59 x i8], [59 x i8]* @.fmt.ptrs, i64 0, i64 0
  %r1 = call i32 (i8*, ...) @printf(i8* %fp, i32 %e1, i32 %e2, i32 %e3, i32 %e4)

  store i64 300, i64* getelementptr inbounds ([4 x i64], [4 x i64]* @preempt_table, i64 0, i64 2), align 8
  %sum = call i64 @lib_table_sum()
  %t2p = load i64*, i64** @ptr_to_table_2, align 8
  %t2 = load i64, i64* %t2p, align 8
  %t3 = load i64, i64* getelementptr inbounds ([4 x i64], [4 x i64]* @preempt_table, i64 0, i64 3), align 8
  %ft = getelementptr inbounds [39 x i8], [39 x i8]* @.fmt.table, i64 0, i64 0
  %r2 = call i32 (i8*, ...) @printf(i8* %ft, i64 %sum, i64 %t2, i64 %t3)

  %n = load i32, i32* @ctor_log_len, align 4
  %l0 = load i32, i32* getelementptr inbounds ([8 x i32], [8 x i32]* @ctor_log, i64 0, i64 0), align 4
  %l1 = load i32, i32* getelementptr inbounds ([8 x i32], [8 x i32]* @ctor_log, i64 0, i64 1), align 4
  %l2 = load i32, i32* getelementptr inbounds ([8 x i32], [8 x i32]* @ctor_log, i64 0, i64 2), align 4
  %l3 = load i32, i32* getelementptr inbounds ([8 x i32], [8 x i32]* @ctor_log, i64 0, i64 3), align 4
  %fl = getelementptr inbounds [28 x i8], [28 x i8]* @.fmt.log, i64 0, i64 0
  %r3 = call i32 (i8*, ...) @printf(i8* %fl, i32 %n, i32 %l0, i32 %l1, i32 %l2, i32 %l3)

  %s = load i32, i32* @seen_at_101, align 4
  %fs = getelementptr inbounds [18 x i8], [18 x i8]* @.fmt.seen, i64 0, i64 0
  %r4 = call i32 (i8*, ...) @printf(i8* %fs, i32 %s)
  ret i32 42
}

@llvm.global_ctors = appending global [3 x { i32, void ()*, i8* }] [
  { i32, void ()*, i8* } { i32 300, void ()* @main_ctor_300, i8* null },
  { i32, void ()*, i8* } { i32 65535, void ()* @main_ctor_default, i8* null },
  { i32, void ()*, i8* } { i32 101, void ()* @main_ctor_101, i8* null }
]
@llvm.global_dtors = appending global [2 x { i32, void ()*, i8* }] [
  { i32, void ()*, i8* } { i32 65535, void ()* @main_dtor_default, i8* null },
  { i32, void ()*, i8* } { i32 400, void ()* @main_dtor_400, i8* null }
]

attributes #0 = { nounwind uwtable }
