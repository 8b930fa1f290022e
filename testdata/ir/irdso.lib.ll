; irdso, module "lib": globals with and without dso_local, a global the module
; reaches through the GOT although it defines it itself, data holding the
; address of such a global, and constructors/destructors with priorities
; (llvm.global_ctors / llvm.global_dtors) interleaved with main.ll's.
;
; Target-neutral: no triple or datalayout; build.sh passes -mtriple to llc.
; Typed pointers (LLVM 14).

@dso_counter = dso_local global i32 5, align 4        ; direct (PC-relative) access
@preempt_counter = global i32 7, align 4              ; not dso_local: GOT, even from here
@hidden_value = hidden global i32 11, align 4         ; hidden implies dso_local
@preempt_table = global [4 x i64] [i64 10, i64 20, i64 30, i64 40], align 8
@ptr_to_preempt = global i32* @preempt_counter, align 8       ; abs64 to own non-dso_local symbol
@ptr_to_table_2 = global i64* getelementptr inbounds ([4 x i64], [4 x i64]* @preempt_table, i64 0, i64 2), align 8
@ctor_log = global [8 x i32] zeroinitializer, align 4
@ctor_log_len = global i32 0, align 4

@.fmt.ctor = private unnamed_addr constant [30 x i8] c"ctor %d (lib.ll): log_len=%d\0A\00", align 1
@.fmt.dtor = private unnamed_addr constant [18 x i8] c"dtor %d (lib.ll)\0A\00", align 1

declare i32 @printf(i8*, ...)

; Not dso_local: calls to it from this module may go through the PLT.
define void @log_ctor(i32 %id) #0 {
  %len = load i32, i32* @ctor_log_len, align 4
  %small = icmp slt i32 %len, 8
  br i1 %small, label %store, label %done
store:
  %idx = sext i32 %len to i64
  %slot = getelementptr inbounds [8 x i32], [8 x i32]* @ctor_log, i64 0, i64 %idx
  store i32 %id, i32* %slot, align 4
  br label %done
done:
  %len1 = add nsw i32 %len, 1
  store i32 %len1, i32* @ctor_log_len, align 4
  ret void
}

define i32 @lib_read_preempt() #0 {
  %v = load i32, i32* @preempt_counter, align 4
  ret i32 %v
}

define dso_local i32 @lib_read_dso() #0 {
  %v = load i32, i32* @dso_counter, align 4
  %h = load i32, i32* @hidden_value, align 4
  %s = add i32 %v, %h
  ret i32 %s
}

define i32* @lib_addr_of_preempt() #0 {
  ret i32* @preempt_counter
}

define void @lib_bump(i32 %by) #0 {
  %a = load i32, i32* @preempt_counter, align 4
  %a1 = add i32 %a, %by
  store i32 %a1, i32* @preempt_counter, align 4
  %b = load i32, i32* @dso_counter, align 4
  %b1 = mul i32 %by, 2
  %b2 = add i32 %b, %b1
  store i32 %b2, i32* @dso_counter, align 4
  ret void
}

define i64 @lib_table_sum() #0 {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %acc = phi i64 [ 0, %entry ], [ %acc1, %loop ]
  %p = getelementptr inbounds [4 x i64], [4 x i64]* @preempt_table, i64 0, i64 %i
  %v = load i64, i64* %p, align 8
  %acc1 = add i64 %acc, %v
  %i1 = add nuw nsw i64 %i, 1
  %end = icmp eq i64 %i1, 4
  br i1 %end, label %out, label %loop
out:
  ret i64 %acc1
}

define internal void @lib_ctor(i32 %prio) #0 {
  call void @log_ctor(i32 %prio)
  %len = load i32, i32* @ctor_log_len, align 4
  %f = getelementptr inbounds [30 x i8], [30 x i8]* @.fmt.ctor, i64 0, i64 0
  %r = call i32 (i8*, ...) @printf(i8* %f, i32 %prio, i32 %len)
  ret void
}

define internal void @lib_ctor_200() #0 {
  call void @lib_ctor(i32 200)
  ret void
}

define internal void @lib_ctor_default() #0 {
  ; runs after every prioritised constructor
  store i32 1000, i32* @hidden_value, align 4
  call void @lib_ctor(i32 65535)
  ret void
}

define internal void @lib_dtor_150() #0 {
  %f = getelementptr inbounds [18 x i8], [18 x i8]* @.fmt.dtor, i64 0, i64 0
  %r = call i32 (i8*, ...) @printf(i8* %f, i32 150)
  ret void
}

@llvm.global_ctors = appending global [2 x { i32, void ()*, i8* }] [
  { i32, void ()*, i8* } { i32 65535, void ()* @lib_ctor_default, i8* null },
  { i32, void ()*, i8* } { i32 200, void ()* @lib_ctor_200, i8* null }
]
@llvm.global_dtors = appending global [1 x { i32, void ()*, i8* }] [
  { i32, void ()*, i8* } { i32 150, void ()* @lib_dtor_150, i8* null }
]

attributes #0 = { nounwind uwtable }
