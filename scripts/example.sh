#!/usr/bin/env bash
# Builds relink and runs the bundled example with `relink run`: two C objects
# loaded, linked in memory and run, with an argument passed after `--`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -q
arch=$(uname -m)
exec target/release/relink run examples/hello/obj/$arch/main.o examples/hello/obj/$arch/greet.o -- "${@:-newcomer}"
