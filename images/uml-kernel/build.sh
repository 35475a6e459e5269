#!/usr/bin/env bash
# Builds the lean i386 UML kernel and its modules from Debian's linux-source-6.1: i386_defconfig + config.fragment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$("$here/../lib/kernel-src.sh")
cd "$src"
for p in "$here"/patches/*.patch; do patch -s -p1 < "$p"; done
export KBUILD_BUILD_TIMESTAMP="2025-01-01" KBUILD_BUILD_USER=umlab KBUILD_BUILD_HOST=umlab
mk=(make -s ARCH=um SUBARCH=i386 CC="${CCACHE:+ccache }gcc")
"${mk[@]}" i386_defconfig
scripts/kconfig/merge_config.sh -m .config "$here/config.fragment" >/dev/null
"${mk[@]}" olddefconfig
"$here/../lib/check-config.sh" "$here/config.fragment" .config
"${mk[@]}" -j"$JOBS" linux modules
release=$("${mk[@]}" kernelrelease)
"${mk[@]}" INSTALL_MOD_PATH="$OUT/modules" INSTALL_MOD_STRIP=1 modules_install
rm -f "$OUT/modules/lib/modules/$release/build" "$OUT/modules/lib/modules/$release/source"
strip -o "$OUT/linux" linux
# For `umlab profile`: the symbols that strip removes, as `nm -n` prints them.
nm -n linux > "$OUT/linux.map"
cp .config "$OUT/config"
echo "$release" > "$OUT/release"
# Tells the host that this kernel's flush reaches its COW file (patches/0001-um-ubd-make-flush-reach-the-cow-file.patch), so it needs no O_SYNC.
echo "ubd flush syncs the COW file" > "$OUT/cow-flush"
# Tells the host that this kernel names its vector NIC eth0 and can take its lease itself (ip=, patches/0005).
echo "ip=:::::eth0:dhcp" > "$OUT/ip-config"
