#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/archive/*.o for the archive tests (tests/archive.rs),
# which put them into archives at test time (ar, llvm-ar, or written in Rust).
# zdriver.o, sqldriver.o and ffidriver.o (zlib, SQLite, libffi) are x86-64 only: the
# tests link them with the system's libz.a, libsqlite3.a and libffi.a.
set -euo pipefail
cd "$(dirname "$0")"
for arch in x86_64 aarch64; do
  out=obj/$arch/archive; mkdir -p "$out"; rm -f "$out"/*.o
  if [ $arch = x86_64 ]; then cc=gcc; else cc=aarch64-linux-gnu-gcc; fi
  for c in archive/*.c; do
    n=$(basename "$c" .c)
    case $n in zdriver|sqldriver|ffidriver) [ $arch != x86_64 ] && continue ;; esac
    $cc -O2 -fPIC -fno-asynchronous-unwind-tables -c "$c" -o "$out/$n.o"
  done
done

# Mach-O twins of the members use_a.o needs (for a Darwin-format archive, whose
# symbol table names start with `_`): clang-14 (Darwin target) to IR, then llc.
# Kept out of obj/ (whose walkers expect ELF): archive/macho/<arch>/.
for arch in x86_64 aarch64; do
  case $arch in
    x86_64) target=x86_64-apple-macosx11 triple=x86_64-apple-macosx ;;
    aarch64) target=arm64-apple-macosx11 triple=arm64-apple-macosx ;;
  esac
  out=archive/macho/$arch; mkdir -p "$out"; rm -f "$out"/*.o
  for n in m_a m_b use_a; do
    (cd archive && clang-14 --target=$target -O2 -fno-stack-protector -S -emit-llvm $n.c -o - ) |
      llc -O2 -filetype=obj -mtriple=$triple -o "$out/$n.o"
  done
done
