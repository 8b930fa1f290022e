#!/usr/bin/env bash
# Rebuilds the example's objects for both architectures (gcc -O2, PIE as Debian builds by default).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p obj/x86_64 obj/aarch64
for c in main greet; do
  gcc -O2 -c $c.c -o obj/x86_64/$c.o
  aarch64-linux-gnu-gcc -O2 -c $c.c -o obj/aarch64/$c.o
done
