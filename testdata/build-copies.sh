#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/copies/*.o and testdata/expected/<arch>/copies-*
# for tests/copies.rs from testdata/copies/: -fno-pic programs that read libc's
# and libstdc++'s variables (stdin, stdout, stderr, std::cout, ...) with 32-bit
# fields, which relink reaches through copies of them (src/memory/copies.rs).
#
# Variants: gcc (x86-64: -fno-pic -fno-pie; AArch64: -fno-pic) and, on x86-64,
# clang-14 -fno-pic -fno-pie. Expected output: the same objects linked natively
# with -no-pie (AArch64: run under qemu), fed input.txt, arguments `a b`.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for arch in x86_64 aarch64; do
  if [ $arch = x86_64 ]; then
    variants=(gcc clang); run=()
  else
    variants=(gcc); run=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
  fi
  out=obj/$arch/copies; mkdir -p "$out" expected/$arch; rm -f "$out"/*.o
  for v in "${variants[@]}"; do
    case $arch/$v in
      x86_64/gcc) cc=(gcc -fno-pic -fno-pie); cxx=(g++ -fno-pic -fno-pie) ;;
      x86_64/clang) cc=(clang-14 -fno-pic -fno-pie); cxx=(clang++-14 -fno-pic -fno-pie) ;;
      aarch64/gcc) cc=(aarch64-linux-gnu-gcc -fno-pic); cxx=(aarch64-linux-gnu-g++ -fno-pic) ;;
    esac
    "${cc[@]}" -O2 -c copies/stdio.c -o "$out/stdio-$v.o"
    "${cxx[@]}" -O2 -c copies/iostream.cpp -o "$out/iostream-$v.o"
    "${cc[@]}" -O2 -c copies/mixed_main.c -o "$out/mixed_main-$v.o"
    "${cc[0]}" -O2 -fPIC -c copies/mixed_pic.c -o "$out/mixed_pic-$v.o"
    "${cxx[@]}" -no-pie "$out/mixed_main-$v.o" "$out/mixed_pic-$v.o" -o "$tmp/mixed"
    "${run[@]}" "$tmp/mixed" > "expected/$arch/copies-mixed-$v.stdout" 2> "expected/$arch/copies-mixed-$v.stderr"
    for p in stdio iostream; do
      "${cxx[@]}" -no-pie "$out/$p-$v.o" -o "$tmp/$p"
      set +e
      "${run[@]}" "$tmp/$p" a b < copies/input.txt > "expected/$arch/copies-$p-$v.stdout" \
        2> "expected/$arch/copies-$p-$v.stderr"
      echo $? > "expected/$arch/copies-$p-$v.status"
      set -e
    done
  done
  "${cc[@]}" -O2 -c copies/onevar.c -o "$out/onevar.o"
  "${cc[@]}" -O2 -c copies/reads_libvar.c -o "$out/reads_libvar.o"
  "${cc[@]}" -O2 -c copies/opterr.c -o "$out/opterr.o"
  # The library whose variable cannot be copied: built -fPIC, as shared.
  "${cc[0]}" -O2 -fPIC -shared -nostdlib -s -Wl,-z,max-page-size=4096 copies/protected.c -o "$out/libprotected.so"
done
