#!/usr/bin/env bash
# The whole test suite: formatting, clippy, then every test natively (x86-64) and
# again as an aarch64-unknown-linux-gnu build under qemu-aarch64.
# Installs what it needs first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (x86-64 and aarch64)"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --target aarch64-unknown-linux-gnu -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -q

echo "== cargo build (aarch64 relink, the executor of tests/executor.rs's cross_arch_programs)"
cargo build --target aarch64-unknown-linux-gnu --bin relink
export RELINK_CROSS_RELINK="$PWD/target/aarch64-unknown-linux-gnu/debug/relink"

echo "== cargo test (x86-64, native)"
cargo test

echo "== cargo test (aarch64, under qemu-aarch64)"
# Tests spawn the relink binary (and re-run themselves); built for aarch64, those
# need the same runner cargo uses.
# RELINK_QEMU_USER=1 (also in .cargo/config.toml): qemu-user keeps stale
# translations of code patched through relink's second mapping unless told.
RELINK_TEST_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" RELINK_QEMU_USER=1 \
  cargo test --target aarch64-unknown-linux-gnu
