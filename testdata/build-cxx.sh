#!/usr/bin/env bash
# Regenerates the C++ programs' objects and expected output, the unwind test
# objects and the debug-info objects (testdata/README.md, "C++, unwinding and
# debugging"). Deterministic. Checks each C++ variant, linked natively (and run
# under qemu for AArch64), prints the same output.
#
# Variants: gxx (g++ -O2, PIE), clang-llc (clang-14 -O2 to IR, then llc -O2
# -relocation-model=pic), for x86_64 and aarch64.
#
# Usage: bash testdata/build-cxx.sh
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=0

TD=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/relink-cxx.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)

die() { echo "build-cxx.sh: error: $*" >&2; exit 1; }
for tool in g++ clang-14 llc aarch64-linux-gnu-g++ aarch64-linux-gnu-gcc qemu-aarch64; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done

cxx() {   # cxx ARCH VARIANT SRC OUT
  local arch=$1 variant=$2 src=$3 out=$4 lang=c++
  case $src in *.c) lang=c ;; esac
  local dir base; dir=$(dirname "$src"); base=$(basename "$src")
  (
    cd "$dir"   # by basename: no directory names in the objects
    case "$arch/$variant" in
      x86_64/gxx)  g++ -x "$lang" -O2 -c "$base" -o "$out" ;;
      aarch64/gxx) aarch64-linux-gnu-g++ -x "$lang" -O2 -c "$base" -o "$out" ;;
      */clang-llc)
        local target=()
        [ "$arch" = aarch64 ] && target=(--target=aarch64-linux-gnu)
        clang-14 "${target[@]}" -x "$lang" -O2 -S -emit-llvm "$base" -o "$WORK/ir.ll"
        llc -O2 -relocation-model=pic -filetype=obj "$WORK/ir.ll" -o "$out" ;;
    esac
  )
}

native_run() {   # native_run ARCH OBJECTS... : links with the system g++ and runs
  local arch=$1; shift
  if [ "$arch" = x86_64 ]; then
    g++ "$@" -o "$WORK/prog" && "$WORK/prog" > "$WORK/out" || echo $? > "$WORK/status"
  else
    aarch64-linux-gnu-g++ "$@" -o "$WORK/prog" && "${QEMU[@]}" "$WORK/prog" > "$WORK/out" || echo $? > "$WORK/status"
  fi
}

# C++ programs: testdata/cxx/<prog>/*.cpp -> obj/<arch>/<variant>/<prog>/*.o
for progdir in "$TD"/cxx/*/; do
  prog=$(basename "$progdir")
  for arch in x86_64 aarch64; do
    first=
    for variant in gxx clang-llc; do
      out=$TD/obj/$arch/$variant/$prog
      rm -rf "$out"; mkdir -p "$out"
      for src in "$progdir"*.cpp; do
        cxx "$arch" "$variant" "$src" "$out/$(basename "$src" .cpp).o"
      done
      echo 0 > "$WORK/status"
      native_run "$arch" "$out"/*.o
      if [ -z "$first" ]; then
        first=$variant
        mkdir -p "$TD/expected/$arch"
        cp "$WORK/out" "$TD/expected/$arch/$prog.stdout"
        cp "$WORK/status" "$TD/expected/$arch/$prog.status"
      else
        cmp -s "$WORK/out" "$TD/expected/$arch/$prog.stdout" \
          || die "$prog: $arch/$variant prints other output than $arch/$first"
        cmp -s "$WORK/status" "$TD/expected/$arch/$prog.status" \
          || die "$prog: $arch/$variant exits other than $arch/$first"
      fi
    done
    echo "cxx/$prog ($arch): $(wc -l < "$TD/expected/$arch/$prog.stdout") lines, status $(cat "$TD/expected/$arch/$prog.status")"
  done
done

# Unwind test objects (tests/unwind.rs): unwind/<arch>/<variant>-<name>.o
for arch in x86_64 aarch64; do
  rm -rf "$TD/unwind/$arch"; mkdir -p "$TD/unwind/$arch"
  for variant in gxx clang-llc; do
    for src in "$TD"/unwind/*.cpp "$TD"/unwind/*.c; do
      name=$(basename "${src%.*}")
      cxx "$arch" "$variant" "$src" "$TD/unwind/$arch/$variant-$name.o"
    done
  done
done
# empty_fde.cpp runs as a program too (tests/eh_frame_empty.rs): its native output.
for arch in x86_64 aarch64; do
  echo 0 > "$WORK/status"
  native_run "$arch" "$TD/unwind/$arch/gxx-empty_fde.o"
  cp "$WORK/out" "$TD/expected/$arch/empty_fde.stdout"
  cp "$WORK/status" "$TD/expected/$arch/empty_fde.status"
done
# The same C code as x86_64 Mach-O (its __eh_frame is registered too).
(cd "$TD/unwind" && clang-14 -O2 -S -emit-llvm chain.c -o "$WORK/chain.ll" \
   && llc -O2 -mtriple=x86_64-apple-macosx -filetype=obj "$WORK/chain.ll" -o x86_64/macho-chain.o)

# Debug-info objects (tests/gdb.rs, x86-64): gcc -g -O0, and llc Mach-O (no DWARF used).
rm -rf "$TD/debug/x86_64"; mkdir -p "$TD/debug/x86_64/macho"
for src in "$TD"/debug/*.c; do
  name=$(basename "$src" .c)
  (cd "$TD/debug" && gcc -g -O0 -c "$name.c" -o "x86_64/$name.o")
  (cd "$TD/debug" && clang-14 -O1 -S -emit-llvm "$name.c" -o "$WORK/$name.ll" \
     && llc -mtriple=x86_64-apple-macosx -filetype=obj "$WORK/$name.ll" -o "x86_64/macho/$name.o")
done
gcc "$TD"/debug/x86_64/*.o -o "$WORK/debug" && "$WORK/debug" || die "debug objects: native run failed"
echo "debug objects: ok"
