#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/tls/<variant>/*.o and testdata/expected/<arch>/tls.stdout
# for the thread-local storage tests (tests/tls.rs).
#
# Variants (all position-independent: general/local dynamic or emulated TLS):
#   gcc      gcc -fPIC        x86-64: TLSGD/TLSLD/DTPOFF32; AArch64: TLSDESC
#   clang    clang-14 -fPIC   the same models as llc -relocation-model=pic
#   gcc-trad aarch64 gcc -fPIC -mtls-dialect=trad: TLSGD + __tls_get_addr (AArch64 only)
#   emutls   clang-14 -fPIC -femulated-tls: __emutls_v.* + __emutls_get_address
#   nopic    gcc -fno-pic: initial-exec/local-exec, which relink refuses (refused.o only)
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
  variants=(gcc clang emutls)
  [ $arch = aarch64 ] && variants+=(gcc-trad)
  for v in "${variants[@]}"; do
    out=obj/$arch/tls/$v; mkdir -p "$out"; rm -f "$out"/*.o
    for n in vars threads; do
      case $v in
        gcc) $gcc -O2 -fPIC -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        gcc-trad) $gcc -O2 -fPIC -mtls-dialect=trad -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        clang) "${clang[@]}" -O2 -fPIC -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
        emutls) "${clang[@]}" -O2 -fPIC -femulated-tls -fno-asynchronous-unwind-tables -c tls/$n.c -o "$out/$n.o" ;;
      esac
    done
  done
  out=obj/$arch/tls/nopic; mkdir -p "$out"; rm -f "$out"/*.o
  $gcc -O2 -fno-pic -fno-pie -fno-asynchronous-unwind-tables -c tls/refused.c -o "$out/refused.o"
  # The native reference.
  exe=$(mktemp); trap 'rm -f "$exe"' EXIT
  $gcc -O2 -fPIC -pthread tls/vars.c tls/threads.c -o "$exe"
  mkdir -p expected/$arch
  "${run[@]}" "$exe" > expected/$arch/tls.stdout
done
