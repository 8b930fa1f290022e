#!/usr/bin/env bash
# Seeds the fuzz corpora from testdata (ELF and Mach-O, both architectures) and runs
# one target for a while. Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly; cargo install cargo-fuzz
# usage: fuzz/run.sh TARGET [SECONDS=600]     TARGET: parse | link | fixup | sequence
# Crashes land in fuzz/artifacts/TARGET/; copy each to testdata/fuzz/TARGET/<what-it-is>
# (tests/fuzz_replay.rs replays them on stable) and fix the cause.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1; seconds=${2:-600}
corpus=fuzz/corpus/$target
mkdir -p "$corpus" "fuzz/artifacts/$target"
if [ "$target" = parse ] || [ "$target" = link ]; then
  find testdata/obj testdata/macho/obj -name '*.o' | while read -r o; do
    cp "$o" "$corpus/seed-$(echo "$o" | tr '/' '_')"
  done
fi
if [ -d "testdata/fuzz/$target" ]; then cp testdata/fuzz/"$target"/* "$corpus"/; fi
exec cargo +nightly fuzz run -O "$target" "$corpus" -- \
  -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1
