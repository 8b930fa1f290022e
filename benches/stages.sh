#!/usr/bin/env bash
# Stage times of `relink run --stats`, two builds (or two sets of flags) alternated run by run:
# on this project's 2-core VM whole-run wall times move by up to 10% between runs, and the
# stage times (how long the linking thread was busy, how long the reading threads took)
# are the steadier yardstick for a change to loading. Each round runs both sides, in turn
# first (A B, then B A, ...). Prints per side the medians of:
#   busy     the linking thread's time (stats total minus the time it waited for objects)
#   ahead    reading and parsing on the reading threads (summed over them)
#   resolve, finalize, layout   the linking thread's largest stages
#   wall     the whole `relink run`, from the shell's microsecond clock
# and then, paired by round, the median of A minus B for each column with the number of
# rounds in which A took less: on a noisy machine a round's two runs share its conditions,
# so their difference is steadier than the difference of the two medians.
# Every run's exit status must equal the corpus's `expected` file (benches/gen_corpus.py
# writes it; benches/compare.sh's KEEP corpora have one).
#
# usage: benches/stages.sh CORPUS_DIR RUNS RELINK_A [RELINK_B] [-- FLAGS_A [-- FLAGS_B]]
#   e.g. benches/stages.sh /tmp/keep/wide-1000-20 9 target/release/relink /tmp/old/relink
#        benches/stages.sh /tmp/keep/wide-1000-20 9 target/release/relink -- --threads 2 -- --threads 1
set -euo pipefail
dir=$1 runs=$2 a=$3
shift 3
b=$a
if [ $# -gt 0 ] && [ "$1" != "--" ]; then b=$1; shift; fi
flags_a=() flags_b=()
if [ $# -gt 0 ]; then
  shift
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags_a+=("$1"); shift; done
  if [ $# -gt 0 ]; then shift; flags_b=("$@"); fi
fi
a=$(realpath "$a") b=$(realpath "$b")
expected=$(cat "$dir/expected")
objs=("$dir"/*.o)
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
for round in $(seq "$runs"); do
  # Untimed: the corpus in the page cache for both sides, whichever runs first
  # (this VM's DAMON pageout evicts files left unread for about a minute).
  cat "${objs[@]}" > /dev/null
  order="A B"
  if [ $((round % 2)) = 0 ]; then order="B A"; fi
  for side in $order; do
    if [ $side = A ]; then bin=$a flags=("${flags_a[@]}"); else bin=$b flags=("${flags_b[@]}"); fi
    t0=$EPOCHREALTIME
    set +e
    "$bin" run --stats "${flags[@]}" "${objs[@]}" > /dev/null 2> "$err"
    status=$?
    set -e
    t1=$EPOCHREALTIME
    if [ "$status" != "$expected" ]; then
      echo "side $side: exit status $status, expected $expected" >&2; tail -n 20 "$err" >&2; exit 1
    fi
    awk -v s=$side -v r="$round" -v t0="$t0" -v t1="$t1" '
      / ahead /   { ahead = $(NF-1) }   / waited / { waited = $(NF-1) }
      / resolve / { resolve = $(NF-1) } / finalize / { finalize = $(NF-1) }
      / layout /  { layout = $(NF-1) }  / total /  { total = $(NF-1) }
      END { printf "%s %.3f %.3f %.3f %.3f %.3f %.3f %d\n", s, total - waited, ahead, resolve,
                   finalize, layout, (t1 - t0) * 1000, r }' "$err" >> "$out"
  done
done
printf '%-4s %9s %9s %9s %9s %9s %9s   (ms, medians of %s)\n' side busy ahead resolve finalize \
  layout wall "$runs"
for side in A B; do
  printf '%-4s' "$side"
  for col in 2 3 4 5 6 7; do
    awk -v s=$side -v c=$col '$1 == s { print $c }' "$out" | sort -g |
      awk '{ v[NR] = $1 } END { printf " %9.1f", v[int((NR + 1) / 2)] }'
  done
  echo
done
# Paired by round: the median of A minus B, and in how many rounds A took less.
paired=$(for col in 2 3 4 5 6 7; do
  awk -v c=$col '$1 == "A" { a[$8] = $c } $1 == "B" { b[$8] = $c }
    END { for (r in a) print a[r] - b[r] }' "$out" | sort -g |
    awk '{ v[NR] = $1; less += ($1 < 0) } END { print v[int((NR + 1) / 2)], less + 0 }'
done)
printf '%-4s' 'A-B'
echo "$paired" | awk '{ printf " %+9.1f", $1 }'
echo
printf '%-4s' 'A<B'
echo "$paired" | awk -v n="$runs" '{ printf " %9s", $2 "/" n }'
echo
