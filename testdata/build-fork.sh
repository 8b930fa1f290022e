#!/usr/bin/env bash
# Rebuilds testdata/obj/<arch>/fork/*.o and testdata/expected/<arch>/fork-*.stdout
# for the fork tests (tests/fork.rs) from testdata/fork/*.c.
#
# Programs run by `relink run` (one object each): counters, threads, spawn. Their
# expected output is the same source linked natively (AArch64: run under qemu).
# driver + lib_v1 run under a host that replaces the library (tests/fork.rs); the
# expected output takes each line from the native build (driver + host_stub.c +
# lib_vN) of the version the printing process should run at that point: lines 1-2
# from v1, 3 from v3 (the child's replace), 4 from v2 (the parent's).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for arch in x86_64 aarch64; do
  if [ $arch = x86_64 ]; then
    cc=gcc; flags=(); run=()
  else
    # Inline atomics (threads.c): libgcc's outline ones are only in libgcc.a.
    cc=aarch64-linux-gnu-gcc; flags=(-mno-outline-atomics); run=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
  fi
  out=obj/$arch/fork; mkdir -p "$out" expected/$arch; rm -f "$out"/*.o
  for c in fork/*.c; do
    n=$(basename "$c" .c)
    [ "$n" = host_stub ] && continue  # native-only (driver)
    $cc -O2 "${flags[@]}" -c "$c" -o "$out/$n.o"
  done
  for n in counters threads spawn; do
    $cc -O2 -pthread "fork/$n.c" -o "$tmp/$n"
    "${run[@]}" "$tmp/$n" > "expected/$arch/fork-$n.stdout"
  done
  for v in 1 2 3; do
    $cc -O2 fork/driver.c fork/host_stub.c "fork/lib_v$v.c" -o "$tmp/driver_v$v"
    "${run[@]}" "$tmp/driver_v$v" > "$tmp/driver_v$v.stdout"
  done
  { sed -n 1,2p "$tmp/driver_v1.stdout"; sed -n 3p "$tmp/driver_v3.stdout"; sed -n 4p "$tmp/driver_v2.stdout"; } \
    > "expected/$arch/fork-replace.stdout"
done
