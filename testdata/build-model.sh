#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/model/m<I>_v<V>.o for the model test (tests/model.rs)
# from testdata/model/model.c. Twelve objects, versions 1-3 each and version 4
# for I % 3 == 0. The flavour (compiler and code model) of object I version V is
# flavour (I + V) % 5, so replacing an object also changes how it is compiled:
#   0 gcc-pic     gcc -fPIC: other objects' functions through the PLT, variables
#                 (its own too) through the GOT
#   1 gcc-hidden  gcc -fPIE -DHIDDEN: hidden extern declarations, every reference
#                 PC-relative and direct
#   2 clang-pic   clang-14 -fPIC (falls back to gcc-pic, with a warning, when
#                 clang-14 is missing)
#   3 llc-pic     clang-14 -fno-pic -emit-llvm (everything dso_local), then
#                 llc -relocation-model=pic: own variables through a local symbol
#   4 llc-static  the same IR, llc -relocation-model=static (x86-64: absolute
#                 32-bit addresses, so the linker places everything low)
# Deterministic: rerunning gives the same bytes.
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=0
cd "$(dirname "$0")"
N=12
WORK=$(mktemp -d "${TMPDIR:-/tmp}/relink-model.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
have_clang=1
command -v clang-14 >/dev/null || { have_clang=0; echo "build-model.sh: clang-14 missing: clang-pic objects are gcc-pic" >&2; }
FLAGS=(-O2 -fno-asynchronous-unwind-tables -fno-stack-protector -fcf-protection=none)
for arch in x86_64 aarch64; do
  out=obj/$arch/model; mkdir -p "$out"; rm -f "$out"/*.o
  if [ $arch = x86_64 ]; then gcc=gcc; triple=x86_64-unknown-linux-gnu; ctarget=(); else gcc=aarch64-linux-gnu-gcc; triple=aarch64-unknown-linux-gnu; ctarget=(--target=aarch64-linux-gnu); fi
  [ $arch = aarch64 ] && FLAGS_A=(-O2 -fno-asynchronous-unwind-tables -fno-stack-protector) || FLAGS_A=("${FLAGS[@]}")
  for ((i = 0; i < N; i++)); do
    for v in 1 2 3 4; do
      if [ $v = 4 ] && [ $((i % 3)) != 0 ]; then continue; fi
      defs=(-DI=$i -DV=$v -DQ=$((i ^ 1)) -DR=$(((i + 2) % N)))
      o=$out/m${i}_v$v.o
      flavour=$(((i + v) % 5))
      if [ $flavour = 2 ] && [ $have_clang = 0 ]; then flavour=0; fi
      case $flavour in
        0) $gcc "${FLAGS_A[@]}" -fPIC "${defs[@]}" -c model/model.c -o "$o" ;;
        1) $gcc "${FLAGS_A[@]}" -fPIE -DHIDDEN "${defs[@]}" -c model/model.c -o "$o" ;;
        2) clang-14 "${ctarget[@]}" "${FLAGS_A[@]}" -fPIC "${defs[@]}" -c model/model.c -o "$o" ;;
        3|4)
          ll=$WORK/m${i}_v$v.$arch.ll
          clang-14 "${ctarget[@]}" "${FLAGS_A[@]}" -fno-pic "${defs[@]}" -S -emit-llvm model/model.c -o "$ll"
          if [ $flavour = 3 ]; then rm=pic; else rm=static; fi
          llc -O2 -filetype=obj -mtriple=$triple -relocation-model=$rm "$ll" -o "$o" ;;
      esac
    done
  done
done
ls obj/*/model | wc -l
