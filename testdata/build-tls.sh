#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/tls/<variant>/*.o and testdata/expected/<arch>/tls.stdout
# for the thread-local storage tests (tests/tls.rs).
#
# Variants:
#   gcc        gcc -fPIC        x86-64: TLSGD/TLSLD/DTPOFF32; AArch64: TLSDESC
#   clang      clang-14 -fPIC   the same models as llc -relocation-model=pic
#   gcc-trad   aarch64 gcc -fPIC -mtls-dialect=trad: TLSGD + __tls_get_addr (AArch64 only)
#   gcc-gnu2   x86-64 gcc -fPIC -mtls-dialect=gnu2: TLS descriptors (x86-64 only)
#   emutls     clang-14 -fPIC -femulated-tls: __emutls_v.* + __emutls_get_address
#   gcc-nopic  gcc -fno-pic -fno-pie: local exec (own variables), initial exec (extern)
#   gcc-pie    gcc -fPIE: the same models, through PC-relative GOT cells
#   clang-nopic clang-14 -fno-pic: the models of llc -relocation-model=static
#   huge       gcc -fno-pic: 1 MiB of static TLS, more than glibc can give (huge.o only)
#   gcc-default gcc -O2 -c, the compiler's default flags (PIE on Debian: local exec):
#              tls/edit/*.c, versions of one object for the replace and watch tests
#              (tests/tls_replace.rs, tests/watch.rs)
# The expected output is the same program linked natively (AArch64: under qemu).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")"
for arch in x86_64 aarch64; do
  if [ $arch = x86_64 ]; then
    gcc=gcc; clang=(clang-14); run=()
  else
    gcc=aarch64-linux-gnu-gcc; clang=(clang-14 --target=aarch64-linux-gnu); run=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
  fi
  variants=(gcc clang emutls gcc-nopic gcc-pie clang-nopic)
  [ $arch = aarch64 ] && variants+=(gcc-trad)
  [ $arch = x86_64 ] && variants+=(gcc-gnu2)
  for v in "${variants[@]}"; do
    out=obj/$arch/tls/$v; mkdir -p "$out"; rm -f "$out"/*.o
    for n in vars threads; do
      case $v in
        gcc) $gcc -O2 -fPIC -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        gcc-trad) $gcc -O2 -fPIC -mtls-dialect=trad -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        clang) "${clang[@]}" -O2 -fPIC -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        emutls) "${clang[@]}" -O2 -fPIC -femulated-tls -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        gcc-gnu2) $gcc -O2 -fPIC -mtls-dialect=gnu2 -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        gcc-nopic) $gcc -O2 -fno-pic -fno-pie -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        gcc-pie) $gcc -O2 -fPIE -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        clang-nopic) "${clang[@]}" -O2 -fno-pic -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
      esac
    done
  done
  out=obj/$arch/tls/huge; mkdir -p "$out"; rm -f "$out"/*.o
  $gcc -O2 -fno-pic -fno-pie -fno-asynchronous-unwind-tables -c tls/huge.c -o "$out/huge.o"
  out=obj/$arch/tls/gcc-default; mkdir -p "$out"; rm -f "$out"/*.o
  for src in tls/edit/*.c; do
    $gcc -O2 -c "$src" -o "$out/$(basename "$src" .c).o"
  done
  # The native reference.
  exe=$(mktemp); trap 'rm -f "$exe"' EXIT
  $gcc -O2 -fPIC -pthread tls/vars.c tls/threads.c -o "$exe"
  mkdir -p expected/$arch
  "${run[@]}" "$exe" > expected/$arch/tls.stdout
done
