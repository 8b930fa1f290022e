#!/usr/bin/env bash
# Regenerates every object file and expected output under testdata/ from the
# sources, then checks that each variant's objects, linked by the system
# linker, print exactly the expected output. Deterministic: rerunning gives
# the same bytes. See testdata/README.md.
#
# Needs: gcc, clang-14, llc and llvm-mc (LLVM 14), llvm-readobj,
# aarch64-linux-gnu-gcc and qemu-aarch64 (scripts/setup.sh installs them).
#
# Usage: bash testdata/build.sh
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=0

TD=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$TD/src
IRDIR=$TD/ir
ASMDIR=$TD/asm/x86_64
A64ASMDIR=$TD/asm/aarch64
OBJ=$TD/obj
EXP=$TD/expected
WORK=$(mktemp -d "${TMPDIR:-/tmp}/relink-testdata.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
RUN_TIMEOUT=120
# -ffp-contract=off: no fused multiply-add, so x86-64 and AArch64 (and gcc
# and clang) round doubles identically.
CFLAGS_COMMON=(-O2 -ffp-contract=off)

X86_VARIANTS=(gcc-pie gcc-nopic llc-static llc-pic llc-large)
A64_VARIANTS=(gcc llc-static llc-pic llc-large)
IR_VARIANTS=(llc-static llc-pic llc-large)

die() { echo "build.sh: error: $*" >&2; exit 1; }

for tool in gcc clang-14 llc llvm-mc llvm-readobj aarch64-linux-gnu-gcc qemu-aarch64 timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done

# Programs: C programs are the directories of src/ (x86asm is x86-64 only,
# a64asm AArch64 only); IR programs are the prefixes of ir/<prog>.<module>.ll.
C_PROGS=()
for d in "$SRC"/*/; do
  p=$(basename "$d")
  case $p in x86asm|a64asm) ;; *) C_PROGS+=("$p") ;; esac
done
mapfile -t IR_PROGS < <(for f in "$IRDIR"/*.ll; do b=$(basename "$f"); echo "${b%%.*}"; done | sort -u)

prog_cflags() {   # extra compiler flags of a C program: src/<prog>/cflags
  local f=$SRC/$1/cflags
  if [ -f "$f" ]; then tr '\n' ' ' < "$f"; fi
}

# prog_skips ARCH VARIANT PROG: whether src/PROG/skip lists ARCH/VARIANT (lines
# "arch/variant reason": variants that cannot build the program at all).
prog_skips() {
  local f=$SRC/$3/skip
  [ -f "$f" ] && awk -v av="$1/$2" '$1 == av { found = 1 } END { exit !found }' "$f"
}

prog_args_file() {
  if [ -f "$SRC/$1/args" ]; then echo "$SRC/$1/args"; else echo /dev/null; fi
}

# ---------------------------------------------------------------- compiling

# compile_c ARCH VARIANT PROG: src/PROG/*.c -> obj/ARCH/VARIANT/PROG/*.o
compile_c() {
  local arch=$1 variant=$2 prog=$3 out=$OBJ/$1/$2/$3
  local extra; read -r -a extra <<< "$(prog_cflags "$prog")"
  mkdir -p "$out"
  local src base
  for src in "$SRC/$prog"/*.c; do
    base=$(basename "$src" .c)
    (
      cd "$SRC/$prog"   # compile by basename: no directory names in the objects
      case "$arch/$variant" in
        x86_64/gcc-pie)   gcc "${CFLAGS_COMMON[@]}" "${extra[@]}" -c "$base.c" -o "$out/$base.o" ;;
        x86_64/gcc-nopic) gcc "${CFLAGS_COMMON[@]}" "${extra[@]}" -fno-pic -fno-pie -c "$base.c" -o "$out/$base.o" ;;
        aarch64/gcc)      aarch64-linux-gnu-gcc "${CFLAGS_COMMON[@]}" "${extra[@]}" -c "$base.c" -o "$out/$base.o" ;;
        */llc-*)
          local ll=$WORK/ir-$arch-$prog-$base.ll
          if [ ! -f "$ll" ]; then
            local target=()
            [ "$arch" = aarch64 ] && target=(--target=aarch64-linux-gnu)
            clang-14 "${target[@]}" "${CFLAGS_COMMON[@]}" "${extra[@]}" -S -emit-llvm "$base.c" -o "$ll"
          fi
          run_llc "$arch" "$variant" "$ll" "$out/$base.o" ;;
        *) die "unknown variant $arch/$variant" ;;
      esac
    )
  done
}

# run_llc ARCH VARIANT IN.ll OUT.o
run_llc() {
  local arch=$1 variant=$2 in=$3 out=$4 triple opts
  case $arch in
    x86_64) triple=x86_64-unknown-linux-gnu ;;
    aarch64) triple=aarch64-unknown-linux-gnu ;;
  esac
  case "$arch/$variant" in
    */llc-static)     opts=(-relocation-model=static) ;;
    */llc-pic)        opts=(-relocation-model=pic) ;;
    # x86-64 large model with PIC: GOTPC64/GOTOFF64/GOT64/PLTOFF64.
    x86_64/llc-large) opts=(-relocation-model=pic -code-model=large) ;;
    # AArch64 large model is absolute only (MOVZ/MOVK, R_AARCH64_MOVW_UABS_G*).
    aarch64/llc-large) opts=(-relocation-model=static -code-model=large) ;;
    *) die "unknown llc variant $arch/$variant" ;;
  esac
  llc -O2 -mtriple=$triple -filetype=obj "${opts[@]}" "$in" -o "$out"
}

# compile_ir ARCH VARIANT PROG: ir/PROG.*.ll -> obj/ARCH/VARIANT/PROG/<module>.o
compile_ir() {
  local arch=$1 variant=$2 prog=$3 out=$OBJ/$1/$2/$3 f m
  mkdir -p "$out"
  for f in "$IRDIR/$prog".*.ll; do
    m=$(basename "$f" .ll); m=${m#"$prog".}
    (cd "$IRDIR" && run_llc "$arch" "$variant" "$(basename "$f")" "$out/$m.o")
  done
}

# x86asm: main.c per variant, plus the llvm-mc objects of asm/x86_64/*.s.
compile_x86asm() {
  local variant=$1 out=$OBJ/x86_64/$1/x86asm s
  compile_c x86_64 "$variant" x86asm
  for s in "$ASMDIR"/*.s; do
    (cd "$ASMDIR" && llvm-mc -filetype=obj -triple=x86_64-linux-gnu "$(basename "$s")" \
      -o "$out/$(basename "$s" .s).o")
  done
}

# a64asm: main.c per variant, plus the llvm-mc objects of asm/aarch64/*.s.
compile_a64asm() {
  local variant=$1 out=$OBJ/aarch64/$1/a64asm s
  compile_c aarch64 "$variant" a64asm
  for s in "$A64ASMDIR"/*.s; do
    (cd "$A64ASMDIR" && llvm-mc -filetype=obj -triple=aarch64-linux-gnu "$(basename "$s")" \
      -o "$out/$(basename "$s" .s).o")
  done
}

# GNU ld 2.40 cannot link relocs.o of a64asm as it is (no R_AARCH64_PLT32; it
# checks ABS32/ABS16 as unsigned): the native links use relocs.s assembled with
# NATIVE_LD defined, and this checks that the two objects differ only in those
# three relocations (see asm/aarch64/relocs.s).
A64_NATIVE_RELOCS=$WORK/a64asm-relocs-native.o
a64asm_native_relocs() {
  local ref=$WORK/a64asm-relocs.o
  (cd "$A64ASMDIR" && llvm-mc -filetype=obj -triple=aarch64-linux-gnu relocs.s -o "$ref" &&
    llvm-mc -filetype=obj -triple=aarch64-linux-gnu --defsym NATIVE_LD=1 relocs.s -o "$A64_NATIVE_RELOCS")
  relocs_of() { llvm-readobj -r "$1" | sed -n '/^Relocations \[/,$p'; }
  contents_of() {   # every section but the symbol table and the relocations
    llvm-objdump -s "$1" | awk '/^Contents of section / { skip = ($4 ~ /^\.(symtab|strtab|rela)/) }
                                 /^Contents of section / || (!skip && /^ [0-9a-f]+ /)'
  }
  if ! cmp -s <(relocs_of "$ref") <(relocs_of "$A64_NATIVE_RELOCS" | sed \
         -e 's/R_AARCH64_PREL32 c_callback 0x0$/R_AARCH64_PLT32 c_callback 0x0/' \
         -e 's/R_AARCH64_ABS32 ABS_NEG16 0x100000000$/R_AARCH64_ABS32 ABS_NEG16 0x0/' \
         -e 's/R_AARCH64_ABS16 ABS_NEG16 0x10000$/R_AARCH64_ABS16 ABS_NEG16 0x0/') ||
     ! cmp -s <(contents_of "$ref") <(contents_of "$A64_NATIVE_RELOCS"); then
    echo "FAIL aarch64 a64asm: relocs.s with NATIVE_LD differs in more than PLT32 and" \
      "the ABS32/ABS16 addends" >&2
    FAILURES=$((FAILURES + 1))
  fi
}

# ---------------------------------------------------------------- running

# run_exe ARCH EXE PROG OUTPREFIX: writes OUTPREFIX.stdout and OUTPREFIX.status
run_exe() {
  local arch=$1 exe=$2 prog=$3 outp=$4 args=() status=0
  mapfile -t args < "$(prog_args_file "$prog")"
  local runner=()
  [ "$arch" = aarch64 ] && runner=("${QEMU[@]}")
  timeout "$RUN_TIMEOUT" "${runner[@]}" "$exe" "${args[@]}" > "$outp.stdout" 2> "$outp.stderr" \
    < /dev/null || status=$?
  echo "$status" > "$outp.status"
}

# native_link ARCH VARIANT PROG EXE OBJS...: the system linker's view of the objects
native_link() {
  local arch=$1 variant=$2 prog=$3 exe=$4; shift 4
  local cc=gcc pie=()
  [ "$arch" = aarch64 ] && cc=aarch64-linux-gnu-gcc
  case "$arch/$variant" in
    x86_64/gcc-nopic|x86_64/llc-static|aarch64/llc-static|aarch64/llc-large) pie=(-no-pie) ;;
  esac
  # ld refuses R_X86_64_16/8 in a PIE even against absolute symbols, and
  # R_AARCH64_MOVW_UABS_* to local data.
  case $prog in x86asm|a64asm) pie=(-no-pie) ;; esac
  "$cc" "${pie[@]}" "$@" -o "$exe"
}

# reference ARCH PROG: build the program natively from source, write expected/
reference() {
  local arch=$1 prog=$2 exe=$WORK/ref-$1-$2 cc=gcc target=()
  [ "$arch" = aarch64 ] && { cc=aarch64-linux-gnu-gcc; target=(--target=aarch64-linux-gnu); }
  mkdir -p "$EXP/$arch"
  if [ -d "$SRC/$prog" ] && [ "$prog" != x86asm ] && [ "$prog" != a64asm ]; then
    local extra; read -r -a extra <<< "$(prog_cflags "$prog")"
    (cd "$SRC/$prog" && "$cc" "${CFLAGS_COMMON[@]}" "${extra[@]}" *.c -o "$exe")
  elif [ "$prog" = x86asm ]; then
    # GNU as assembles the .s here; the variants use llvm-mc objects.
    (cd "$SRC/x86asm" && gcc "${CFLAGS_COMMON[@]}" -no-pie main.c "$ASMDIR"/*.s -o "$exe")
  elif [ "$prog" = a64asm ]; then
    # GNU as assembles the .s here, in their NATIVE_LD form (see
    # a64asm_native_relocs); the variants use llvm-mc objects.
    (cd "$SRC/a64asm" && "$cc" "${CFLAGS_COMMON[@]}" -no-pie -Wa,--defsym,NATIVE_LD=1 main.c \
      "$A64ASMDIR"/*.s -o "$exe")
  else
    # IR: clang-14 compiles the modules, the system linker links them.
    local f objs=()
    for f in "$IRDIR/$prog".*.ll; do
      (cd "$IRDIR" && clang-14 "${target[@]}" -O2 -c "$(basename "$f")" -o "$WORK/ref-$arch-$(basename "$f" .ll).o")
      objs+=("$WORK/ref-$arch-$(basename "$f" .ll).o")
    done
    "$cc" "${objs[@]}" -o "$exe"
  fi
  run_exe "$arch" "$exe" "$prog" "$WORK/ref-$arch-$prog"
  cp "$WORK/ref-$arch-$prog.stdout" "$EXP/$arch/$prog.stdout"
  cp "$WORK/ref-$arch-$prog.status" "$EXP/$arch/$prog.status"
}

FAILURES=0
# check ARCH VARIANT PROG: link the variant's objects natively, compare with expected/
check() {
  local arch=$1 variant=$2 prog=$3 dir=$OBJ/$1/$2/$3
  local exe=$WORK/chk-$arch-$variant-$prog objs
  mapfile -t objs < <(find "$dir" -maxdepth 1 -name '*.o' | sort)
  [ ${#objs[@]} -gt 0 ] || die "no objects in $dir"
  if [ "$prog" = a64asm ]; then   # GNU ld needs the NATIVE_LD relocs.o
    local i
    for i in "${!objs[@]}"; do
      [ "${objs[$i]}" = "$dir/relocs.o" ] && objs[$i]=$A64_NATIVE_RELOCS
    done
  fi
  if ! native_link "$arch" "$variant" "$prog" "$exe" "${objs[@]}" 2> "$exe.link"; then
    echo "FAIL $arch/$variant/$prog: native link failed:" >&2
    cat "$exe.link" >&2
    FAILURES=$((FAILURES + 1))
    return
  fi
  run_exe "$arch" "$exe" "$prog" "$exe"
  if cmp -s "$exe.stdout" "$EXP/$arch/$prog.stdout" && cmp -s "$exe.status" "$EXP/$arch/$prog.status"; then
    echo "ok   $arch/$variant/$prog"
  else
    echo "FAIL $arch/$variant/$prog: output differs from expected/$arch/$prog.*" >&2
    diff -u "$EXP/$arch/$prog.stdout" "$exe.stdout" >&2 || true
    echo "status: expected $(cat "$EXP/$arch/$prog.status"), got $(cat "$exe.status")" >&2
    FAILURES=$((FAILURES + 1))
  fi
}

# ---------------------------------------------------------------- relocation table

# Counts of relocation types per variant, as a markdown table per architecture.
reloc_table() {
  local arch=$1; shift
  local variants=("$@") v
  for v in "${variants[@]}"; do
    find "$OBJ/$arch/$v" -name '*.o' | sort | xargs llvm-readobj -r \
      | awk -v v="$v" '$2 ~ /^R_/ { print v, $2 }'
  done | awk -v vlist="${variants[*]}" '
    { n[$2 SUBSEP $1]++; types[$2] = 1 }
    END {
      nv = split(vlist, vs, " ")
      line = "| type |"; sep = "|---|"
      for (i = 1; i <= nv; i++) { line = line " " vs[i] " |"; sep = sep "---:|" }
      print line; print sep
      m = 0; for (t in types) order[++m] = t
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
        if (order[j] < order[i]) { tmp = order[i]; order[i] = order[j]; order[j] = tmp }
      for (i = 1; i <= m; i++) {
        t = order[i]; line = "| " t " |"
        for (k = 1; k <= nv; k++) { c = n[t SUBSEP vs[k]]; line = line " " (c ? c : "") " |" }
        print line
      }
    }'
}

update_readme() {
  local readme=$TD/README.md table=$WORK/relocs.md
  {
    echo "<!-- relocs:begin (generated by build.sh; do not edit) -->"
    echo "Relocation counts over all objects of each variant (\`llvm-readobj -r\`, .eh_frame included)."
    echo
    echo "#### x86_64"
    echo
    reloc_table x86_64 "${X86_VARIANTS[@]}"
    echo
    echo "#### aarch64"
    echo
    reloc_table aarch64 "${A64_VARIANTS[@]}"
    echo
    echo "#### a64asm: relocs.o alone (the same object in every AArch64 variant)"
    echo
    echo "| type | count |"
    echo "|---|---:|"
    llvm-readobj -r "$OBJ/aarch64/${A64_VARIANTS[0]}/a64asm/relocs.o" \
      | awk '$2 ~ /^R_/ { print $2 }' | sort | uniq -c | awk '{ print "| " $2 " | " $1 " |" }'
    echo "<!-- relocs:end -->"
  } > "$table"
  [ -f "$readme" ] || die "$readme missing"
  grep -q '<!-- relocs:begin' "$readme" || die "README.md has no <!-- relocs:begin --> marker"
  awk -v table="$table" '
    /<!-- relocs:begin/ { while ((getline l < table) > 0) print l; skip = 1; next }
    /<!-- relocs:end -->/ { skip = 0; next }
    !skip { print }' "$readme" > "$WORK/README.new"
  cp "$WORK/README.new" "$readme"
}

# ---------------------------------------------------------------- main

start=$(date +%s)
# Only the variant directories this script owns are replaced: obj/<arch>/api
# (build-api.sh) and anything else under obj/ is left alone.
for v in "${X86_VARIANTS[@]}"; do rm -rf "${OBJ:?}/x86_64/$v"; done
for v in "${A64_VARIANTS[@]}"; do rm -rf "${OBJ:?}/aarch64/$v"; done
for p in "${C_PROGS[@]}" x86asm a64asm "${IR_PROGS[@]}"; do
  rm -f "$EXP/x86_64/$p.stdout" "$EXP/x86_64/$p.status" "$EXP/aarch64/$p.stdout" "$EXP/aarch64/$p.status"
done
mkdir -p "$OBJ" "$EXP"

echo "== compiling"
for v in "${X86_VARIANTS[@]}"; do
  for p in "${C_PROGS[@]}"; do prog_skips x86_64 "$v" "$p" || compile_c x86_64 "$v" "$p"; done
  compile_x86asm "$v"
done
for v in "${A64_VARIANTS[@]}"; do
  for p in "${C_PROGS[@]}"; do prog_skips aarch64 "$v" "$p" || compile_c aarch64 "$v" "$p"; done
  compile_a64asm "$v"
done
for v in "${IR_VARIANTS[@]}"; do
  for p in "${IR_PROGS[@]}"; do
    compile_ir x86_64 "$v" "$p"
    compile_ir aarch64 "$v" "$p"
  done
done

echo "== expected outputs (native builds from source)"
for p in "${C_PROGS[@]}" x86asm "${IR_PROGS[@]}"; do reference x86_64 "$p"; done
a64asm_native_relocs
for p in "${C_PROGS[@]}" a64asm "${IR_PROGS[@]}"; do reference aarch64 "$p"; done

echo "== checking every variant's objects against the expected outputs"
for v in "${X86_VARIANTS[@]}"; do
  for pdir in "$OBJ/x86_64/$v"/*/; do check x86_64 "$v" "$(basename "$pdir")"; done
done
for v in "${A64_VARIANTS[@]}"; do
  for pdir in "$OBJ/aarch64/$v"/*/; do check aarch64 "$v" "$(basename "$pdir")"; done
done

update_readme

owned=()
for v in "${X86_VARIANTS[@]}"; do owned+=("$OBJ/x86_64/$v"); done
for v in "${A64_VARIANTS[@]}"; do owned+=("$OBJ/aarch64/$v"); done
size_kb=$(du -sck --apparent-size "${owned[@]}" | tail -1 | cut -f1)
echo "== objects: ${size_kb} KiB in $(find "${owned[@]}" -name '*.o' | wc -l) files; $(( $(date +%s) - start ))s"
[ "$size_kb" -le 3072 ] || { echo "build.sh: the objects take more than 3 MiB" >&2; FAILURES=$((FAILURES + 1)); }
if [ "$FAILURES" -ne 0 ]; then
  echo "build.sh: $FAILURES check(s) FAILED" >&2
  exit 1
fi
echo "== all checks passed"
