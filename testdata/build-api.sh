#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/api/*.o for the library API tests (tests/api.rs).
set -euo pipefail
cd "$(dirname "$0")"
for arch in x86_64 aarch64; do
  out=obj/$arch/api; mkdir -p "$out"; rm -f "$out"/*.o
  if [ $arch = x86_64 ]; then cc=gcc; mc=x86_64-linux-gnu; else cc=aarch64-linux-gnu-gcc; mc=aarch64-linux-gnu; fi
  for c in api/*.c; do
    n=$(basename "$c" .c)
    case $n in
      static_model) flags="-fno-pic -fno-pie" ;;
      # Initial-exec TLS of a variable no object defines: refused (tests that need an
      # object relink refuses).
      tls|lib_bad) flags="-fno-pic -fno-pie" ;;
      # gcc's default PIE: extern variables are read PC-relative (direct sites).
      user) flags="-fPIE" ;;
      *) flags="-fPIC" ;;
    esac
    $cc -O2 $flags -fno-asynchronous-unwind-tables -c "$c" -o "$out/$n.o"
  done
  llvm-mc -triple=$mc -filetype=obj api/overflow_$arch.s -o "$out/overflow.o"
  llvm-mc -triple=$mc -filetype=obj api/local_got_$arch.s -o "$out/local_got.o"
  # Static-model builds of the replace test objects (x86-64: R_X86_64_32S, low region).
  for n in lib_v1 lib_v2 lib_v3 user; do
    $cc -O2 -fno-pic -fno-pie -fno-asynchronous-unwind-tables -c api/$n.c -o "$out/${n}_static.o"
  done
done
