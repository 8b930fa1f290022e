#!/usr/bin/env bash
# Side-by-side: relink vs llvm-rtdyld -execute vs llvm-jitlink-14 vs ld.lld -shared + dlopen
# and mold -shared + dlopen (static linkers: what the fastest ones take for the same link),
# on the same generated llc objects (benches/gen_corpus.py, x86-64 ELF, pic). Several runs
# each; prints per corpus size the median wall time and median peak RSS (/usr/bin/time) of
# each tool and its ratios to relink. Every run's exit status is checked against the
# generator's independently computed value. The tools take turns: each round runs every
# tool once on every corpus (every size and shape), so a machine whose speed drifts (this
# one's does, by up to 1.5x within minutes) slows every tool and every size alike. Then the
# memory cost of many tiny objects: relink's peak RSS with TINY one-function objects, per
# object. The floor row is what no loader can beat: reading the inputs (`cat`) plus running
# the program linked natively (gcc, before the rounds); relink/floor is printed under each
# table, as the ratio of the medians and round by round (each round's relink against the
# same round's floor).
#
# usage: benches/compare.sh [RUNS=5] [FUNCTIONS=20] [SIZES="1000 5000"] [TINY=10000]
#   SIZES: numbers of generated modules; each corpus also has main.o (1000 -> 1,001 objects).
# Out of process (issue 18): relink-executor is `relink run --executor self` (the linker
# here, the program in a child `relink executor`), jitlink-oop is `llvm-jitlink-14
# -oop-executor=llvm-jitlink-executor-14`; /usr/bin/time counts the child's peak RSS
# separately (its maximum), the wall time is the whole run. Under each table:
# relink-executor/relink and jitlink-oop/jitlink-14.
# relink-1thread is `relink run --threads 1` (no reading thread): relink's row is 2 threads
# on this machine (issue 20 asks for 1 vs 2). relink-nopin is `relink run --no-pin`: the
# load's threads left where the scheduler puts them, not each on a CPU of its own.
# relink-load is `relink run --entry f_0_0` (loading, and one function of the first module,
# not the program); native and cat are the floor's two parts, timed alone. With two or more
# SIZES, the per-object cost of every tool at the largest against the smallest is printed
# at the end (issue 20: linear within 1.1x).
# env:  SKIP="jitlink lld"  tools to leave out (rtdyld, jitlink, jitlink-oop, lld, mold, floor,
#                           executor, threads1, nopin, parts)
#       RELINK_BASELINE=path  also time another relink binary (e.g. an older build)
#       KEEP=dir  keep the generated corpora in dir (reused when present; named
#                 SHAPE-N-F, e.g. rich-1000-20)
#       SHAPES="rich wide"  corpus shapes (gen_corpus.py --shape); each size is run for
#                 each shape. wide: ~2.7x rich's code and several times more names.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}; f=${2:-20}; sizes=${3:-"1000 5000"}; tiny=${4:-10000}
shapes=${SHAPES:-"rich wide"}
skip=" ${SKIP:-} "
work=$(mktemp -d /tmp/relink-compare.XXXXXX); trap 'rm -rf "$work"' EXIT
keep=${KEEP:-$work}
bash scripts/setup.sh bench
cargo build --release -q
relink=$PWD/target/release/relink

# ld.lld -shared + dlopen: a tiny C driver dlopens the library and calls main.
lld=$(command -v ld.lld-14 || command -v ld.lld || true)
[ -n "$lld" ] || skip="$skip lld "
mold=$(command -v mold || true)
[ -n "$mold" ] || skip="$skip mold "
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

# corpus DIR N F SHAPE: generates (or reuses) a corpus; sets $expected.
corpus() {
  if [ -f "$1/expected" ]; then expected=$(cat "$1/expected"); return; fi
  rm -rf "$1"
  expected=$(python3 benches/gen_corpus.py "$1" "$2" "$3" --shape "$4" --reloc pic)
  echo "$expected" > "$1/expected"
}

median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

once() { # corpus, name, command... : runs it once, appends
  # "round corpus name seconds kib" to $work/samples
  local key=$1 name=$2; shift 2
  local status got t0 t1
  set +e
  t0=$EPOCHREALTIME
  # Peak RSS and exit status only: `time -v` also echoes the command line, one
  # character a write (2,697 writes for relink at 1,001 objects, 4-13 ms on the
  # clock), which a tool given the files by name paid and the floor did not.
  /usr/bin/time -f "compare.sh: %M %x" "$@" > /dev/null 2> "$work/time.txt"
  status=$?
  t1=$EPOCHREALTIME
  # relink returns before the kernel has freed its memory: a helper process
  # that shares it frees it after relink's exit (src/teardown.rs), 20-31 ms of
  # a core after a run at wide 5,001. The next run starts once the helper is
  # gone (a zombie is done), or it would pay for that: relink at wide 1,001
  # started right after relink at wide 5,001 took a median of 81.6 ms, started
  # after the helper had gone 69.4 ms (8 pairs, slower in 8).
  while pgrep -x -r D,R,S relink > /dev/null; do :; done
  set -e
  got=$(grep -oP '^compare.sh: [0-9]+ \K[0-9]+' "$work/time.txt" | tail -n 1 || echo "$status")
  if [ "$got" != "${WANT:-$expected}" ]; then
    echo "$name: exit status $got, expected ${WANT:-$expected}" >&2; tail -n 30 "$work/time.txt" >&2
    return 1
  fi
  # Wall time from the shell's microsecond clock (time's rounds to 10 ms).
  printf '%s %s %s %s %s\n' "${ROUND:-0}" "$key" "$name" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')" \
    "$(grep -oP '^compare.sh: \K[0-9]+' "$work/time.txt" | tail -n 1)" \
    >> "$work/samples"
}

# warm CORPUS: reads the corpus's files, untimed, so that the run after it finds
# them in the page cache. This VM runs a DAMON pageout scheme (kdamond; memory
# seen accessed in at most one of the ten samples of each 5 s interval, for 12
# intervals, is paged out), which evicts files read only every few seconds: the
# tool that came first on a corpus read part of it from disk (perf: virtio-blk
# requests under read(2)). A corpus unread for an hour here had 42 of its 2,912
# pages cached (rich 1,001), one read a few minutes before 26,671 of 28,725.
warm() { cat "${c_dir[$1]}"/*.o > /dev/null; }

# run_rounds CORPUS... -- TOOL... : RUNS rounds; each round runs every tool once
# on every corpus (both sizes and shapes in the same round, so that a machine
# that speeds up or slows down during the measurement affects every tool and
# every size alike: per-object costs and relink/floor compare the same
# stretches of time). Within a corpus the tools take turns, each round starting
# one tool further on (in a fixed order a tool's place in the round is a bias
# the rounds cannot average out) and every other round in the opposite order
# (rotation alone kept each tool's predecessor: a relink build that always ran
# right after another came out 5-7% faster than paired runs of the two, as
# benches/stages.sh found); the corpora also alternate their order. Samples go
# to $work/samples as "round corpus tool seconds kib".
run_rounds() {
  : > "$work/samples"
  local keys=() names=() seen=0 x
  for x in "$@"; do
    if [ "$x" = -- ]; then seen=1; continue; fi
    if [ "$seen" = 0 ]; then keys+=("$x"); else names+=("$x"); fi
  done
  local failed=" " round c k j key name nk=${#keys[@]} nt=${#names[@]}
  for round in $(seq 0 $((runs - 1))); do
    for c in $(seq 0 $((nk - 1))); do
      key=${keys[$c]}
      [ $((round % 2)) = 1 ] && key=${keys[$((nk - 1 - c))]}
      warm "$key"
      for k in $(seq 0 $((nt - 1))); do
        j=$k
        [ $((round % 2)) = 1 ] && j=$((nt - 1 - k))
        name=${names[$(((round + j) % nt))]}
        [[ "$failed" == *" $key/$name "* ]] && continue
        ROUND=$round tool "$key" "$name" || failed="$failed$key/$name "
      done
    done
  done
  printf '%s\n' "$failed" > "$work/failed"
}

# results CORPUS TOOL... : "tool median_s median_kib" per tool, "tool -" for one
# that failed on that corpus.
results() {
  local key=$1 name failed; shift
  failed=$(cat "$work/failed")
  for name in "$@"; do
    if [[ "$failed" == *" $key/$name "* ]]; then echo "$name -"; continue; fi
    printf '%s %s %s\n' "$name" \
      "$(awk -v c="$key" -v n="$name" '$2 == c && $3 == n { print $4 }' "$work/samples" | median)" \
      "$(awk -v c="$key" -v n="$name" '$2 == c && $3 == n { print $5 }' "$work/samples" | median)"
  done
}

wants() { [[ "$skip" != *" $1 "* ]]; }

# The corpora, each generated (or reused) and built natively before the rounds.
declare -A c_dir c_expected c_load c_relocs
keys=()
for n in $sizes; do
for shape in $shapes; do
  key=$shape-$n
  dir=$keep/$shape-$n-$f
  corpus "$dir" "$n" "$f" "$shape"
  objs=("$dir"/*.o)
  c_dir[$key]=$dir; c_expected[$key]=$expected
  c_relocs[$key]=$(llvm-readobj -r "${objs[@]}" | grep -cE '^ +0x[0-9A-Fa-f]+ R_')
  if wants floor || wants parts; then gcc "${objs[@]}" -o "$work/native-$key"; fi
  # Loading alone: the status of f_0_0 (one function of the first module) is
  # whatever the first run gives; later runs must agree.
  if wants parts; then
    c_load[$key]=$("$relink" run --entry f_0_0 "${objs[@]}" > /dev/null 2>&1 && echo 0 || echo $?)
  fi
  keys+=("$key")
done
done

# tool CORPUS NAME: one run of that tool on that corpus.
tool() {
  local key=$1 name=$2 dir=${c_dir[$1]} native=$work/native-$1
  local objs=("$dir"/*.o)
  expected=${c_expected[$key]}
  case $name in
    relink) once "$key" relink "$relink" run "${objs[@]}" ;;
    relink-baseline) once "$key" relink-baseline "$RELINK_BASELINE" run "${objs[@]}" ;;
    relink-1thread) once "$key" relink-1thread "$relink" run --threads 1 "${objs[@]}" ;;
    relink-nopin) once "$key" relink-nopin "$relink" run --no-pin "${objs[@]}" ;;
    llvm-rtdyld) once "$key" llvm-rtdyld llvm-rtdyld -execute -entry=main "${objs[@]}" ;;
    relink-executor) once "$key" relink-executor "$relink" run --executor self "${objs[@]}" ;;
    llvm-jitlink-14) (ulimit -s 65536; once "$key" llvm-jitlink-14 llvm-jitlink-14 "${objs[@]}") ;;
    jitlink-oop) (ulimit -s 65536; once "$key" jitlink-oop llvm-jitlink-14 \
      -oop-executor="$(command -v llvm-jitlink-executor-14)" "${objs[@]}") ;;
    ld.lld+dlopen) once "$key" ld.lld+dlopen bash -c \
      "$lld -shared -o $work/lib.so $dir/*.o && $work/dl $work/lib.so" ;;
    mold+dlopen) once "$key" mold+dlopen bash -c \
      "$mold -shared -o $work/libm.so $dir/*.o && $work/dl $work/libm.so" ;;
    floor) once "$key" floor bash -c "cat $dir/*.o > /dev/null && $native" ;;
    relink-load) WANT=${c_load[$key]} once "$key" relink-load "$relink" run --entry f_0_0 "${objs[@]}" ;;
    native) once "$key" native "$native" ;;
    cat) WANT=0 once "$key" cat cat "${objs[@]}" ;;
  esac
}

tools=(relink)
[ -n "${RELINK_BASELINE:-}" ] && tools+=(relink-baseline)
wants threads1 && tools+=(relink-1thread)
wants nopin && tools+=(relink-nopin)
wants executor && tools+=(relink-executor)
wants rtdyld && tools+=(llvm-rtdyld)
wants jitlink && tools+=(llvm-jitlink-14)
wants jitlink-oop && command -v llvm-jitlink-executor-14 > /dev/null && tools+=(jitlink-oop)
wants lld && tools+=(ld.lld+dlopen)
wants mold && tools+=(mold+dlopen)
wants floor && tools+=(floor)
wants parts && tools+=(relink-load native cat)
echo "rounds: $runs, each running every tool on every corpus (${keys[*]}); load $(cut -d' ' -f1-3 /proc/loadavg)"
run_rounds "${keys[@]}" -- "${tools[@]}"

for key in "${keys[@]}"; do
  shape=${key%-*}; n=${key##*-}
  objs=("${c_dir[$key]}"/*.o)
  relocs=${c_relocs[$key]}
  echo
  echo "corpus ($shape): $n modules x $f functions + main = ${#objs[@]} objects (llc -O2 pic," \
    "x86-64 ELF), $relocs relocations = $((relocs / ${#objs[@]})) per object;" \
    "expected status ${c_expected[$key]}; medians of $runs runs"
  results "$key" "${tools[@]}" > "$work/per-$key.txt"
  # relink/floor also taken round by round (relink and the floor ran in the same
  # round), as the median and range of those ratios.
  paired=$(awk -v c="$key" '
    $2 == c && $3 == "relink" { r[$1] = $4 } $2 == c && $3 == "floor" { fl[$1] = $4 }
    END { for (k in r) if (k in fl && fl[k] > 0) print r[k] / fl[k] }' "$work/samples" |
    sort -g | awk '{ q[NR] = $1 }
      END { if (NR) printf "; round by round: median %.2fx, %.2f-%.2fx", q[int((NR + 1) / 2)], q[1], q[NR] }')
  awk -v objs="${#objs[@]}" -v paired="$paired" '
    BEGIN { printf "%-16s %10s %12s %12s %14s %13s\n", "tool", "wall", "per object", "peak RSS",
            "wall/relink", "RSS/relink" }
    NR == 1 { t0 = $2; r0 = $3 }
    $2 == "-" { printf "%-16s %10s\n", $1, "failed"; next }
    { printf "%-16s %8.4f s %9.1f us %8.1f MiB %13.2fx %12.2fx\n", $1, $2, $2 * 1e6 / objs,
             $3 / 1024, (t0 > 0) ? $2 / t0 : 0, (r0 > 0) ? $3 / r0 : 0 }
    $1 == "floor" && $2 > 0 { floor = $2 }
    $2 != "-" { w[$1] = $2 }
    END { if (floor > 0) printf "relink/floor: %.2fx (medians)%s\n", t0 / floor, paired
          if (w["relink-executor"] > 0) printf "relink-executor/relink: %.2fx\n", w["relink-executor"] / t0
          if (w["jitlink-oop"] > 0 && w["llvm-jitlink-14"] > 0)
            printf "jitlink-oop/llvm-jitlink-14: %.2fx\n", w["jitlink-oop"] / w["llvm-jitlink-14"] }' \
    "$work/per-$key.txt"
done

# Per-object cost at the largest size against the smallest, per tool and shape:
# 1.00x is linear. relink-load is relink's own part (loading, no program run);
# native and cat are the floor's two parts. Both sizes ran in the same rounds.
read -r -a all_sizes <<< "$sizes"
if [ "${#all_sizes[@]}" -ge 2 ]; then
  small=${all_sizes[0]}; large=${all_sizes[${#all_sizes[@]} - 1]}
  for shape in $shapes; do
    echo
    echo "per-object cost, $shape: $large modules against $small (1.00x: linear)"
    awk -v s="$small" -v l="$large" '
      FNR == NR { if ($2 != "-") w[$1] = $2; next }
      $2 != "-" && w[$1] > 0 { printf "  %-16s %.3fx\n", $1, ($2 / (l + 1)) / (w[$1] / (s + 1)) }' \
      "$work/per-$shape-$small.txt" "$work/per-$shape-$large.txt"
  done
fi

if [ "$tiny" -gt 0 ]; then
  echo
  for t in "$tiny" 10; do
    corpus "$keep/chain-$t-1" "$t" 1 chain
    c_dir[chain-$t]=$keep/chain-$t-1; c_expected[chain-$t]=$expected
  done
  run_rounds "chain-$tiny" chain-10 -- relink
  objs=("${c_dir[chain-$tiny]}"/*.o)
  read -r _ _ big < <(results "chain-$tiny" relink)
  read -r _ _ small < <(results chain-10 relink)
  awk -v n="${#objs[@]}" -v big="$big" -v small="$small" 'BEGIN {
    printf "tiny objects: %d one-function objects (chain shape, F = 1): relink peak RSS %.1f MiB" \
           " = %.2f KiB per object; above 11 objects (%.1f MiB): %.2f KiB per object\n",
           n, big / 1024, big / n, small / 1024, (big - small) / (n - 11) }'
fi
