#!/usr/bin/env bash
# Regenerates the Mach-O test corpus under testdata/macho/ from its sources: the
# Mach-O objects (x86_64 and arm64), the ELF objects the `mixed` program links
# with them, the ELF twins of the assembly files (reference relocations), and the
# expected outputs, from native Linux builds of the same sources. Deterministic:
# rerunning gives the same bytes. See testdata/macho/README.md.
#
# Fails loudly when a native build does not run, when a program present on both
# architectures prints differently on them, or when a Mach-O object needs a symbol
# that neither its program nor glibc defines.
#
# Needs: clang-14, llc and llvm-mc (LLVM 14), llvm-nm, gcc, aarch64-linux-gnu-gcc,
# qemu-aarch64 (scripts/setup.sh installs them).
#
# Usage: bash testdata/macho/build.sh
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=0

TD=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$TD/src
IRDIR=$TD/ir
OBJ=$TD/obj
EXP=$TD/expected
WORK=$(mktemp -d "${TMPDIR:-/tmp}/relink-macho.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
RUN_TIMEOUT=120
# -ffp-contract=off: no fused multiply-add, so both architectures round alike.
# -fno-stack-protector: Darwin clang's default; the programs `darwin` and `smash`
# turn it back on (their cflags) to test relink's ___stack_chk_guard.
CFLAGS_COMMON=(-O2 -ffp-contract=off -fno-stack-protector)

BOTH_PROGS=(calls data tables ctors reltab mixed tlv darwin darwin0 smash)   # darwin0: darwin at -O0
OBJECT_ONLY=(unwind)   # objects for parse tests: not programs, not run
X86_PROGS=(varargs x86asm)
A64_PROGS=(a64asm)

die() { echo "macho/build.sh: error: $*" >&2; exit 1; }

for tool in clang-14 llc llvm-mc llvm-nm gcc g++ aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ qemu-aarch64 timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done

progs_of() {   # the programs of an architecture
  case $1 in
    x86_64) echo "${BOTH_PROGS[@]}" "${X86_PROGS[@]}" ;;
    aarch64) echo "${BOTH_PROGS[@]}" "${A64_PROGS[@]}" ;;
  esac
}

read_flags() {   # the words of a flags file, if it exists
  if [ -f "$1" ]; then tr '\n' ' ' < "$1"; fi
}

# Darwin clang target, include directory (Linux headers of the arch), llc triple,
# native C compiler.
darwin_target() { case $1 in x86_64) echo x86_64-apple-macosx11 ;; aarch64) echo arm64-apple-macosx11 ;; esac; }
darwin_triple() { case $1 in x86_64) echo x86_64-apple-macosx ;; aarch64) echo arm64-apple-macosx ;; esac; }
linux_include() { case $1 in x86_64) echo /usr/include/x86_64-linux-gnu ;; aarch64) echo /usr/aarch64-linux-gnu/include ;; esac; }
linux_triple() { case $1 in x86_64) echo x86_64-unknown-linux-gnu ;; aarch64) echo aarch64-unknown-linux-gnu ;; esac; }
native_cc() { case $1 in x86_64) echo gcc ;; aarch64) echo aarch64-linux-gnu-gcc ;; esac; }
native_cxx() { case $1 in x86_64) echo g++ ;; aarch64) echo aarch64-linux-gnu-g++ ;; esac; }
libc_of() { case $1 in x86_64) echo /lib/x86_64-linux-gnu/libc.so.6 ;; aarch64) echo /usr/aarch64-linux-gnu/lib/libc.so.6 ;; esac; }

# ---------------------------------------------------------------- Mach-O objects

# macho_c ARCH PROG SRC.c OUT.o: clang-14 (Darwin target, Linux headers) to IR, llc.
macho_c() {
  local arch=$1 prog=$2 src=$3 out=$4 base extra per
  base=$(basename "$src" .c)
  read -r -a extra <<< "$(read_flags "$SRC/$prog/cflags")"
  read -r -a per <<< "$(read_flags "$(dirname "$src")/$base.macho-cflags")"
  (
    cd "$(dirname "$src")"   # by basename: no directory names in the objects
    clang-14 --target="$(darwin_target "$arch")" -U__nonnull -I"$(linux_include "$arch")" \
      "${CFLAGS_COMMON[@]}" "${extra[@]}" "${per[@]}" -S -emit-llvm "$base.c" -o "$WORK/$arch-$prog-$base.ll"
  )
  # src/PROG/macos-version: the llc triple names that macOS version (11: LLVM then
  # uses __sincos_stret, __bzero), as clang's own code generation would.
  llc -O2 -filetype=obj -mtriple="$(darwin_triple "$arch")$(cat "$SRC/$prog/macos-version" 2>/dev/null || true)" \
    "$WORK/$arch-$prog-$base.ll" -o "$out"
}

# macho_asm ARCH SRC.S OUT.o: the C preprocessor (Darwin target), then llvm-mc.
macho_asm() {
  local arch=$1 src=$2 out=$3 pre=$WORK/$1-$(basename "$2" .S).s
  clang-14 --target="$(darwin_target "$arch")" -E -P -x assembler-with-cpp "$src" -o "$pre"
  llvm-mc -triple="$(darwin_triple "$arch")" -filetype=obj "$pre" -o "$out"
}

# build_macho ARCH PROG: every object of obj/ARCH/PROG/.
build_macho() {
  local arch=$1 prog=$2 out=$OBJ/$1/$2 f m
  rm -rf "$out"; mkdir -p "$out"
  local sources=("$SRC/$prog"/*.c)
  [[ " ${OBJECT_ONLY[*]} " == *" $prog "* ]] || sources+=("$SRC/common/out.c")
  for f in "${sources[@]}"; do
    macho_c "$arch" "$prog" "$f" "$out/$(basename "$f" .c).o"
  done
  for f in "$SRC/$prog"/*.S; do
    [ -e "$f" ] || continue
    macho_asm "$arch" "$f" "$out/$(basename "$f" .S).o"
    # The same source assembled as ELF: reference relocations for tests/macho.rs.
    mkdir -p "$OBJ/$arch/elf-twins"
    (cd "$SRC/$prog" && "$(native_cc "$arch")" -c "$(basename "$f")" -o "$OBJ/$arch/elf-twins/$prog-$(basename "$f" .S).o")
  done
  for f in "$IRDIR/$prog".*.ll; do
    [ -e "$f" ] || continue
    m=$(basename "$f" .ll); m=${m#"$prog".}
    (cd "$IRDIR" && llc -O2 -filetype=obj -mtriple="$(darwin_triple "$arch")" "$(basename "$f")" -o "$out/$m.o")
  done
  # C++ sources: ELF objects (g++) that the tests link with the Mach-O ones.
  for f in "$SRC/$prog"/*.cpp; do
    [ -e "$f" ] || continue
    (cd "$SRC/$prog" && "$(native_cxx "$arch")" -O2 -c "$(basename "$f")" -o "$out/$(basename "$f" .cpp).o")
  done
  # ELF objects of the same architecture, linked with the Mach-O ones.
  for f in "$SRC/$prog"/elf/*.c; do
    [ -e "$f" ] || continue
    (cd "$SRC/$prog/elf" && "$(native_cc "$arch")" "${CFLAGS_COMMON[@]}" -c "$(basename "$f")" -o "$out/$(basename "$f" .c).o")
  done
}

# ---------------------------------------------------------------- native reference

# native_build ARCH PROG EXE: the same sources built for Linux, linked in the
# order relink gets the objects (sorted by object name).
native_build() {
  local arch=$1 prog=$2 exe=$3 dir=$WORK/native-$1-$2 cc f m extra link=()
  cc=$(native_cc "$arch")
  rm -rf "$dir"; mkdir -p "$dir"
  read -r -a extra <<< "$(read_flags "$SRC/$prog/cflags")"
  for f in "$SRC/$prog"/*.c "$SRC/common/out.c" "$SRC/$prog"/elf/*.c; do
    [ -e "$f" ] || continue
    (cd "$(dirname "$f")" && "$cc" "${CFLAGS_COMMON[@]}" "${extra[@]}" -c "$(basename "$f")" -o "$dir/$(basename "$f" .c).o")
  done
  for f in "$SRC/$prog"/*.S; do
    [ -e "$f" ] || continue
    (cd "$SRC/$prog" && "$cc" -c "$(basename "$f")" -o "$dir/$(basename "$f" .S).o")
    link=(-no-pie)   # absolute 32-bit data relocations
  done
  for f in "$IRDIR/$prog".*.ll; do
    [ -e "$f" ] || continue
    m=$(basename "$f" .ll); m=${m#"$prog".}
    if [ -f "$SRC/$prog/native/$m.c" ]; then
      (cd "$SRC/$prog/native" && "$cc" "${CFLAGS_COMMON[@]}" -c "$m.c" -o "$dir/$m.o")
    else
      (cd "$IRDIR" && llc -O2 -filetype=obj -relocation-model=pic -mtriple="$(linux_triple "$arch")" "$(basename "$f")" -o "$dir/$m.o")
    fi
  done
  # shellcheck disable=SC2046
  "$cc" "${link[@]}" $(find "$dir" -name '*.o' | sort) -o "$exe" -lm
}

# record ARCH PROG EXE: runs the native build, writes expected/ARCH/PROG.*.
record() {
  local arch=$1 prog=$2 exe=$3 status=0 run=()
  [ "$arch" = aarch64 ] && run=("${QEMU[@]}")
  mkdir -p "$EXP/$arch"
  timeout "$RUN_TIMEOUT" "${run[@]}" "$exe" > "$EXP/$arch/$prog.stdout" < /dev/null || status=$?
  # 134: SIGABRT, what `smash` must end with (relink's tests see "killed by signal 6").
  if [ "$status" = 134 ]; then
    echo "killed by signal 6" > "$EXP/$arch/$prog.status"
    return
  fi
  [ "$status" -lt 124 ] || die "$arch/$prog: native run failed or timed out (status $status)"
  echo "$status" > "$EXP/$arch/$prog.status"
}

is_macho() {   # a 64-bit little-endian Mach-O file?
  [ "$(od -An -tx1 -N4 "$1" | tr -d ' ')" = cffaedfe ]
}

# names FILE nm-options...: llvm-nm's names, without Mach-O's leading underscore.
names() {
  local f=$1; shift
  if is_macho "$f"; then
    llvm-nm "$@" "$f" | sed -E 's/^([^ ]+ +)?_/\1/'
  else
    llvm-nm "$@" "$f"
  fi
}

# Darwin C library names relink provides (src/symbols/darwin.rs, `NAMES`).
DARWIN_NAMES=(__stack_chk_guard __stdinp __stdoutp __stderrp __error __exp10 __exp10f
  __sincos_stret __sincosf_stret memset_pattern4 memset_pattern8 memset_pattern16
  _DefaultRuneLocale __maskrune __toupper __tolower strlcpy strlcat reallocf getprogname
  _NSGetEnviron fpurge)

# check_symbols ARCH PROG: every symbol the Mach-O objects need is defined by the
# program's objects, by glibc (libc, libm, ld.so) or by relink's Darwin names
# (weak references may stay undefined).
check_symbols() {
  local arch=$1 prog=$2 f sym
  local defined=$WORK/defined-$1-$2 libc=$WORK/libc-$1
  if [ ! -f "$libc" ]; then
    local dir
    dir=$(dirname "$(libc_of "$arch")")
    { for lib in "$dir"/libc.so.6 "$dir"/libm.so.6 "$dir"/ld-linux-*.so.*; do
        llvm-nm -D --defined-only --format=just-symbols "$lib"
      done | sed 's/@.*//'; printf '%s\n' "${DARWIN_NAMES[@]}"; } | sort -u > "$libc"
  fi
  for f in "$OBJ/$arch/$prog"/*.o; do
    names "$f" --defined-only --format=just-symbols
  done | sort -u > "$defined"
  for f in "$OBJ/$arch/$prog"/*.o; do
    is_macho "$f" || continue
    for sym in $(names "$f" --undefined-only | awk '$1 == "U" { print $2 }'); do
      [ "$sym" = __dso_handle ] && continue
      grep -qxF "$sym" "$defined" "$libc" ||
        die "$arch/$prog: $(basename "$f") needs \`$sym\`, which neither the program nor glibc defines"
    done
  done
}

# ---------------------------------------------------------------- main

for arch in x86_64 aarch64; do
  rm -rf "$OBJ/$arch/elf-twins"
  for prog in "${OBJECT_ONLY[@]}"; do
    build_macho "$arch" "$prog"
  done
  for prog in $(progs_of $arch); do
    echo "macho/build.sh: $arch/$prog" >&2
    build_macho "$arch" "$prog"
    check_symbols "$arch" "$prog"
    native_build "$arch" "$prog" "$WORK/$arch-$prog"
    record "$arch" "$prog" "$WORK/$arch-$prog"
  done
done

for prog in "${BOTH_PROGS[@]}"; do
  for ext in stdout status; do
    cmp -s "$EXP/x86_64/$prog.$ext" "$EXP/aarch64/$prog.$ext" ||
      die "$prog: native x86-64 and AArch64 runs differ ($ext); the program must print the same on both"
  done
done
echo "macho/build.sh: done" >&2
