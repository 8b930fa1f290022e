#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/replace/*.o for tests/replace_state.rs: hot-replace
# storage, state and refusals (issue 16). Deterministic; needs scripts/setup.sh's tools.
set -euo pipefail
cd "$(dirname "$0")"
for arch in x86_64 aarch64; do
  out=obj/$arch/replace; mkdir -p "$out"; rm -f "$out"/*.o
  if [ $arch = x86_64 ]; then cc=gcc; triple=x86_64-linux-gnu; else cc=aarch64-linux-gnu-gcc; triple=aarch64-linux-gnu; fi
  for ll in replace/*.ll; do
    n=$(basename "$ll" .ll)
    llc -O2 -relocation-model=pic -mtriple=$triple -filetype=obj "$ll" -o "$out/$n.o"
  done
  for c in replace/*.c; do
    [ -e "$c" ] || continue
    n=$(basename "$c" .c)
    # The first line may name the flags: `// flags: -fno-pic -fno-pie`.
    flags=$(sed -n '1s|^// flags: ||p' "$c")
    $cc -O2 ${flags:--fPIC} -fno-asynchronous-unwind-tables -c "$c" -o "$out/$n.o"
  done
done
