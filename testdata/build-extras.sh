#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/extras/*.o for tests/extras.rs: ifuncs, commons,
# large alignments, mergeable strings, COMDAT groups, .data.rel.ro.
set -euo pipefail
cd "$(dirname "$0")"
for arch in x86_64 aarch64; do
  out=obj/$arch/extras; mkdir -p "$out"; rm -f "$out"/*.o
  if [ $arch = x86_64 ]; then cc=gcc; cxx=g++; target=x86_64-linux-gnu
  else cc=aarch64-linux-gnu-gcc; cxx=aarch64-linux-gnu-g++; target=aarch64-linux-gnu; fi
  for c in extras/*.c; do
    n=$(basename "$c" .c)
    flags="-fPIC"
    case $n in common_*) flags="-fPIC -fcommon" ;; esac
    $cc -O2 $flags -c "$c" -o "$out/$n.o"
  done
  for c in extras/*.cpp; do
    n=$(basename "$c" .cpp)
    $cxx -O2 -fPIC -c "$c" -o "$out/$n.o"
    clang++-14 --target=$target -O2 -fPIC -c "$c" -o "$out/${n}_clang.o"
  done
done
