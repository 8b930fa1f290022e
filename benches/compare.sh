#!/usr/bin/env bash
# Side-by-side: relink vs llvm-rtdyld -execute vs llvm-jitlink-14 vs ld.lld -shared + dlopen,
# on the same generated llc objects (benches/gen_corpus.py). Several runs each; prints the
# median wall time and median peak RSS (/usr/bin/time -v) of each tool, and ratios to relink.
# Every run's exit status is checked against the generator's independently computed value.
#
# usage: benches/compare.sh [N_OBJECTS=1000] [FUNCTIONS=20] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}; f=${2:-20}; runs=${3:-5}
work=$(mktemp -d /tmp/relink-compare.XXXXXX); trap 'rm -rf "$work"' EXIT
expected=$(python3 benches/gen_corpus.py "$work/obj" "$n" "$f" --reloc pic)
bash scripts/setup.sh bench
cargo build --release -q
relink=target/release/relink
objs=("$work"/obj/*.o)
echo "corpus: $n modules x $f functions + main, llc -relocation-model=pic; expected status $expected"
echo "relocations: $(for o in "${objs[@]}"; do llvm-readobj -r "$o"; done | grep -c ' R_' )"

# ld.lld -shared + dlopen: a tiny C driver dlopens the library and calls main.
lld=$(command -v ld.lld-14 || command -v ld.lld || true)
if [ -n "$lld" ]; then
  cat > "$work/dl.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) { fprintf(stderr, "%s\n", dlerror()); return 255; }
  int (*m)(int, char **) = (int (*)(int, char **))dlsym(h, "main");
  return m(argc, argv);
}
C
  gcc -O2 "$work/dl.c" -o "$work/dl" -ldl
fi

measure() { # name, command... : prints "name median_s median_kib"
  local name=$1; shift
  local times=() rss=()
  for _ in $(seq "$runs"); do
    set +e
    /usr/bin/time -v "$@" > /dev/null 2> "$work/time.txt"
    local status=$?
    set -e
    local got
    got=$(grep -oP 'Exit status: \K[0-9]+' "$work/time.txt" || echo "$status")
    if [ "$got" != "$expected" ]; then
      echo "$name: exit status $got, expected $expected" >&2; tail -n 30 "$work/time.txt" >&2; return 1
    fi
    times+=("$(grep -oP 'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): \K.*' "$work/time.txt" | awk -F: '{print ($1*60)+$2}')")
    rss+=("$(grep -oP 'Maximum resident set size \(kbytes\): \K[0-9]+' "$work/time.txt")")
  done
  printf '%s %s %s\n' "$name" \
    "$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')" \
    "$(printf '%s\n' "${rss[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
}

{
  measure relink "$relink" run "${objs[@]}"
  measure llvm-rtdyld llvm-rtdyld -execute -entry=main "${objs[@]}"
  (ulimit -s 65536; measure llvm-jitlink-14 llvm-jitlink-14 "${objs[@]}") || echo "llvm-jitlink-14 failed - -"
  if [ -n "$lld" ]; then
    measure "ld.lld+dlopen" bash -c "$lld -shared -o $work/lib.so $work/obj/*.o && $work/dl $work/lib.so"
  fi
} > "$work/results.txt"

awk 'NR==1 {t0=$2; r0=$3}
     {printf "%-16s %8.3f s %9d KiB   time %6.2fx relink   rss %6.2fx relink\n", $1, $2, $3, ($2>0 && t0>0) ? $2/t0 : 0, ($3>0 && r0>0) ? $3/r0 : 0}' \
  "$work/results.txt"
