#!/usr/bin/env bash
# Installs everything relink's build, tests and test-object generation need on a fresh
# Debian machine: the AArch64 cross toolchain and qemu-user (the suite also runs as an
# aarch64 build under qemu), clang-14 (C -> LLVM IR for testdata), the static archives
# the archive tests load, and the rustup target.
# Idempotent: does nothing that is already done.
set -euo pipefail

need_apt=()
command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu)
[ -d /usr/aarch64-linux-gnu/lib ] || need_apt+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
command -v clang-14 >/dev/null || need_apt+=(clang-14)
command -v llc >/dev/null || need_apt+=(llvm-14)
# llvm-ar (BSD-format archives for tests/archive.rs) comes with llvm-14 as llvm-ar-14.
command -v llvm-ar >/dev/null || command -v llvm-ar-14 >/dev/null || need_apt+=(llvm-14)
command -v g++ >/dev/null || need_apt+=(g++)
# perf itself: tests/perf.rs records `relink run --perf-jitdump` and reads the report.
command -v perf >/dev/null || need_apt+=(linux-perf)
# The C API tests build the example host through pkg-config (tests/capi.rs).
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# Static archives the archive tests load and compare with the shared libraries
# (tests/archive.rs, tests/libxml2.rs; x86-64 hosts only).
if [ "$(uname -m)" = x86_64 ]; then
  for pkg in zlib1g-dev:libz libbz2-dev:libbz2 libexpat1-dev:libexpat libgmp-dev:libgmp \
      libsqlite3-dev:libsqlite3 libffi-dev:libffi libxml2-dev:libxml2 libicu-dev:libicuuc \
      liblzma-dev:liblzma; do
    [ -f "/usr/lib/x86_64-linux-gnu/${pkg#*:}.a" ] || need_apt+=("${pkg%%:*}")
  done
fi
# `setup.sh bench`: also what benches/compare.sh compares against.
if [ "${1:-}" = bench ]; then
  command -v ld.lld-14 >/dev/null || need_apt+=(lld-14)
  command -v mold >/dev/null || need_apt+=(mold)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
