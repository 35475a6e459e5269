#!/usr/bin/env bash
# Builds the i386 host kernel (bzImage) from Debian's linux-source-6.1: tinyconfig + config.fragment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$("$here/../lib/kernel-src.sh")
cd "$src"
# Requests that UML's kernel uses instead of its stub's round trips (see patches/).
for p in "$here"/patches/*.patch; do patch -s -p1 < "$p"; done
export KBUILD_BUILD_TIMESTAMP="2025-01-01" KBUILD_BUILD_USER=umlab KBUILD_BUILD_HOST=umlab
cc=(CC="${CCACHE:+ccache }gcc")
make -s ARCH=i386 "${cc[@]}" tinyconfig
scripts/kconfig/merge_config.sh -m .config "$here/config.fragment" >/dev/null
make -s ARCH=i386 "${cc[@]}" olddefconfig
"$here/../lib/check-config.sh" "$here/config.fragment" .config
make -s ARCH=i386 "${cc[@]}" -j"$JOBS" bzImage
cp arch/x86/boot/bzImage "$OUT/bzImage"
# For `umlab profile`: names the host kernel's addresses in a guest profile (never sent to the page).
cp System.map "$OUT/System.map"
cp .config "$OUT/config"
make -s ARCH=i386 kernelrelease > "$OUT/release"
