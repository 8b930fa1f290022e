#!/usr/bin/env bash
# An edit loop through the CLI: `relink watch --keep-state` over an object built
# with gcc's default flags (`gcc -O2 -c`) that has a thread-local variable (static
# TLS), rewritten N times (default 1,000) with two alternating versions. Each
# rewrite waits for watch to report the reload (watch waits 100 ms for a file to
# settle, so 1,000 reloads take a few minutes). Prints watch's RSS and the static
# TLS libraries it holds (from /proc) after the first reload and at the end, and
# fails if a reload fails or the last version is not the one running.
#
#   scripts/edit_loop.sh [N]        RELINK=path/to/relink to use another binary
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
if [ -z "${RELINK:-}" ]; then
  cargo build -q --bin relink
  RELINK=$PWD/target/debug/relink
fi
dir=$(mktemp -d)
pid=
cleanup() {
  local rc=$?
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit $rc
}
trap cleanup EXIT

for v in a b; do
  cat > "$dir/$v.c" <<SRC
#include <stdio.h>
int total;
__thread int hits;
int tick(int argc, char **argv) {
  (void)argc; (void)argv;
  printf("tick $v total=%d hits=%d\n", ++total, ++hits);
  return 0;
}
SRC
  gcc -O2 -c "$dir/$v.c" -o "$dir/$v.o"
done
cp "$dir/a.o" "$dir/prog.o"

"$RELINK" watch --keep-state --interval 10 --entry tick "$dir/prog.o" \
  > "$dir/out.log" 2> "$dir/err.log" &
pid=$!

# /proc numbers of the watch process: RSS in KiB, static TLS libraries.
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
static_tls() {
  grep relink-static-tls "/proc/$pid/maps" | awk '{ print $5 }' | sort -u | wc -l
}
reloads() { grep -c '^relink: reloaded' "$dir/err.log" || true; }

start=$(date +%s)
for i in $(seq 1 "$n"); do
  if [ $((i % 2)) = 1 ]; then v=b; else v=a; fi
  cp "$dir/$v.o" "$dir/prog.o.tmp"
  mv "$dir/prog.o.tmp" "$dir/prog.o"
  waited=0
  while [ "$(reloads)" -lt "$i" ]; do
    if ! kill -0 "$pid" 2>/dev/null || [ $waited -ge 3000 ]; then
      echo "edit_loop: reload $i did not happen; watch's stderr:" >&2
      tail -5 "$dir/err.log" >&2
      exit 1
    fi
    sleep 0.01
    waited=$((waited + 1))
  done
  if [ "$i" = 1 ]; then
    rss_first=$(rss); tls_first=$(static_tls)
  fi
done
sleep 0.1
rss_end=$(rss); tls_end=$(static_tls)
last=$(tail -1 "$dir/out.log")
errors=$(grep -c '^relink: watch:' "$dir/err.log" || true)
echo "edit_loop: $n reloads in $(($(date +%s) - start)) s, $errors error(s); last output: $last"
echo "edit_loop: RSS after reload 1: $rss_first KiB, after reload $n: $rss_end KiB"
echo "edit_loop: static TLS libraries after reload 1: $tls_first, after reload $n: $tls_end"
case "$last" in
  "tick $v "*) ;;
  *) echo "edit_loop: the last version ($v) is not running" >&2; exit 1 ;;
esac
[ "$errors" = 0 ]
