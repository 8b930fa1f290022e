#!/usr/bin/env bash
# How long the loaded program itself runs, apart from loading: a corpus's `main`
# (benches/gen_corpus.py) timed from inside, natively and under each loader, runs
# alternated. compare.sh's whole runs mix the two; this isolates the program, which
# at wide 5,001 is a third of `relink run` and runs slower than the native build.
# main.o's `main` is renamed `real_main` (objcopy) and a wrapper object's `main`
# times the call with CLOCK_MONOTONIC and prints it to stderr. With CONTIG=1 the
# wrapper also reads /proc/self/pagemap after the run and prints how many of the
# program code's pages (the native binary's r-x mapping, relink's r-xs memfd
# mappings) have the physically next page as their neighbour (root only: the page
# frame numbers read as zero otherwise). With WARM=N the wrapper then calls `main`
# N more times and prints their mean: the program again with its code, data and stack
# warm, so that what is left of a difference is the cost of the instructions and of
# the memory they keep reaching, not of first touches (page faults, cold caches).
# Prints per side the median and range of `main`'s time (and of the warm calls'),
# each run's exit status (every call's) checked against the corpus's `expected`.
#
# usage: benches/program.sh CORPUS_DIR RUNS [RELINK...]
#   RELINK: relink binaries to time (default target/release/relink); llvm-jitlink-14
#   is timed too when installed (SKIP_JITLINK=1 leaves it out).
#   e.g. benches/program.sh /tmp/keep/wide-5000-20 8 target/release/relink /tmp/old/relink
#        WARM=11 benches/program.sh /tmp/keep/rich-5000-20 5
set -euo pipefail
dir=$(realpath "$1") runs=$2
shift 2
relinks=()
for r in "$@"; do relinks+=("$(realpath -e "$r")"); done
if [ ${#relinks[@]} = 0 ]; then
  (cd "$(dirname "$0")/.." && cargo build --release -q)
  relinks=("$(realpath "$(dirname "$0")/../target/release/relink")")
fi
expected=$(cat "$dir/expected")
work=$(mktemp -d /tmp/relink-program.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat > "$work/timed.c" <<'C'
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int real_main(int, char **);
static void contiguity(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  int pagemap = open("/proc/self/pagemap", O_RDONLY);
  char line[512];
  long present = 0, adjacent = 0;
  while (maps && pagemap >= 0 && fgets(line, sizeof line, maps)) {
    unsigned long from, to;
    char perm[8];
    if (sscanf(line, "%lx-%lx %7s", &from, &to, perm) != 3 || perm[2] != 'x') continue;
    if (!strstr(line, "memfd:relink") && !strstr(line, "/native")) continue;
    uint64_t previous = 0;
    for (unsigned long p = from; p < to; p += 4096) {
      uint64_t e = 0;
      if (pread(pagemap, &e, 8, (off_t)(p / 4096 * 8)) != 8) break;
      uint64_t frame = e & ((1ULL << 55) - 1);
      if (!(e >> 63) || !frame) { previous = 0; continue; }
      present++;
      adjacent += previous && frame == previous + 1;
      previous = frame;
    }
  }
  fprintf(stderr, "program.sh: pages %ld adjacent %ld\n", present, adjacent);
}
static double ms_since(struct timespec a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
}
int main(int argc, char **argv) {
  struct timespec a;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int status = real_main(argc, argv);
  fprintf(stderr, "program.sh: main %.3f\n", ms_since(a));
  const char *warm = getenv("WARM");
  int again = warm ? atoi(warm) : 0;
  if (again > 0) {
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < again; i++)
      if (real_main(argc, argv) != status) status = 255;
    fprintf(stderr, "program.sh: warm %.3f\n", ms_since(a) / again);
  }
  if (getenv("CONTIG")) contiguity();
  return status;
}
C
mkdir "$work/objs"
for o in "$dir"/*.o; do
  case $(basename "$o") in
    main.o) objcopy --redefine-sym main=real_main "$o" "$work/objs/real_main.o" ;;
    *) ln -s "$o" "$work/objs/" ;;
  esac
done
gcc -O2 -fPIC -c "$work/timed.c" -o "$work/objs/timed.o"
objs=("$work"/objs/*.o)
gcc "${objs[@]}" -o "$work/native"

names=(native) cmds=("$work/native")
for i in "${!relinks[@]}"; do names+=("relink$i"); cmds+=("${relinks[$i]} run ${objs[*]}"); done
if [ -z "${SKIP_JITLINK:-}" ] && command -v llvm-jitlink-14 > /dev/null; then
  names+=(jitlink) cmds+=("llvm-jitlink-14 ${objs[*]}")
fi
: > "$work/samples"
for round in $(seq "$runs"); do
  for k in "${!names[@]}"; do
    j=$k
    [ $((round % 2)) = 0 ] && j=$((${#names[@]} - 1 - k))
    set +e
    (ulimit -s 65536; ${cmds[$j]} > /dev/null 2> "$work/err")
    status=$?
    set -e
    if [ "$status" != "$expected" ]; then
      echo "${names[$j]}: exit status $status, expected $expected" >&2
      tail -n 5 "$work/err" >&2
      exit 1
    fi
    awk -v n="${names[$j]}" '/^program.sh: main/ { m = $3 }
      /^program.sh: pages/ { p = $3; a = $5 } /^program.sh: warm/ { w = $3 }
      END { print n, m, p + 0, a + 0, w + 0 }' "$work/err" >> "$work/samples"
    # relink's teardown helper frees its memory after it exits: not during the next run.
    while pgrep -x -r D,R,S relink > /dev/null; do :; done
  done
done
for i in "${!relinks[@]}"; do echo "relink$i: ${relinks[$i]}"; done
# summary NAME COLUMN: the median and range of that column of NAME's samples
# (2: main, 5: the warm calls; empty when it is all zeros, as without WARM).
summary() {
  awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$work/samples" | sort -g | awk '
    { v[NR] = $1 }
    END { if (v[NR] > 0) printf "median %8.2f  range %.2f-%.2f", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
echo "main of $dir, $runs runs each (ms):"
for n in "${names[@]}"; do
  warm=$(summary "$n" 5)
  printf '  %-8s %s%s' "$n" "$(summary "$n" 2)" "${warm:+  warm $warm}"
  awk -v n="$n" '$1 == n { p += $3; a += $4 }
    END { if (p > 0) printf "  pages physically next to the previous: %.1f%%", 100 * a / p }' \
    "$work/samples"
  echo
done
