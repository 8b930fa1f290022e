#!/usr/bin/env bash
# Installs relink's C library in cargo-c's layout:
#   PREFIX/include/relink.h
#   PREFIX/lib/librelink.so, PREFIX/lib/librelink.a
#   PREFIX/lib/pkgconfig/relink.pc          (links librelink.so; --static adds Libs.private)
#   PREFIX/lib/pkgconfig/relink-static.pc   (links librelink.a and what it needs)
#
# Usage: scripts/c-install.sh PREFIX [LIBDIR]
#   Without LIBDIR: runs `cargo build --release` and installs from target/release.
#   With LIBDIR (e.g. target/aarch64-unknown-linux-gnu/release): installs the
#   libraries already built there.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 PREFIX [LIBDIR]" >&2
  exit 2
fi
prefix=$(realpath -m "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 2 ]; then
  from=$(realpath "$2")
else
  (cd "$root" && cargo build --release --lib)
  from=$root/target/release
fi
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
# What librelink.a needs besides the C library (`cargo rustc -- --print native-static-libs`).
private="-lgcc_s -lutil -lrt -lpthread -lm -ldl"

install -Dm644 "$root/include/relink.h" "$prefix/include/relink.h"
install -Dm755 "$from/librelink.so" "$prefix/lib/librelink.so"
install -Dm644 "$from/librelink.a" "$prefix/lib/librelink.a"
mkdir -p "$prefix/lib/pkgconfig"
header="prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include
"
cat > "$prefix/lib/pkgconfig/relink.pc" <<PC
${header}
Name: relink
Description: Loads relocatable object files into the running process, links, runs and hot-replaces them
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lrelink
Libs.private: $private
PC
cat > "$prefix/lib/pkgconfig/relink-static.pc" <<PC
${header}
Name: relink-static
Description: relink, linked statically (librelink.a)
Version: $version
Cflags: -I\${includedir}
Libs: \${libdir}/librelink.a $private
PC
echo "installed relink $version in $prefix"
