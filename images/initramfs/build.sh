#!/usr/bin/env bash
# Builds the host initramfs as three zstd cpio segments: the host itself, and one per UML kernel flavour.
# The page concatenates the host segment with the chosen flavour, so a visit downloads one UML kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

pack() { # pack <dir> <out.cpio.zst>
  find "$1" -exec touch -h -d @1735689600 {} +
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) | zstd -q -f -19 -T0 -o "$2"
}

root="$WORK/host"
# Every mount point rcS needs outside /dev: made here, not by a mkdir at each boot.
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,etc,proc,sys,dev,tmp,run,root,opt/uml/bin,var/lib/umlab,images,lab}
cp "$DEBS/busybox-static/bin/busybox" "$root/bin/busybox"
# glibc and readline for the dynamically linked UML kernels and uml_mconsole (ldconfig paths of Debian i386).
libdir="$root/lib/i386-linux-gnu"
mkdir -p "$libdir"
# copy_lib <package> <soname>: the real file, wherever the package keeps it, under its soname.
copy_lib() { cp -L "$(ls "$DEBS/$1"/{lib,usr/lib}/i386-linux-gnu/"$2" 2>/dev/null | head -1)" "$libdir/$2"; }
# No libm: nothing on the host links it, and its 1 MB would sit in every snapshot's RAM.
for lib in ld-linux.so.2 libc.so.6 libresolv.so.2 libpthread.so.0 libutil.so.1; do copy_lib libc6 "$lib"; done
copy_lib libreadline8 libreadline.so.8
copy_lib libtinfo6 libtinfo.so.6
ln -s i386-linux-gnu/ld-linux.so.2 "$root/lib/ld-linux.so.2"
for tool in uml_mconsole uml_moo uml_mkcow uml_switch tunctl; do
  cp "$DEBS/uml-utilities/usr/bin/$tool" "$root/usr/bin/$tool"
done
cp "$IN_BENCH_TOOL/umlab-bench" "$root/usr/bin/umlab-bench"
# The host agent sets the host's clock through it after a restore (no fork and exec of date).
cp "$IN_CLOCKD/umlab-clockd" "$root/usr/sbin/umlab-clockd"
# The boot watchdogs' sampler (umlab-uml, umlab-instance): a few system calls per sample.
cp "$IN_WATCH/umlab-watch" "$root/usr/sbin/umlab-watch"
# UML's xterm consoles (conN=xterm): umlab-term, umlab-mux and the port-helper that UML's xterm.c runs.
cp "$IN_CONSOLE_MUX/umlab-mux" "$IN_CONSOLE_MUX/umlab-term" "$root/usr/bin/"
mkdir -p "$root/usr/lib/uml"
cp "$DEBS/uml-utilities/usr/lib/uml/port-helper" "$root/usr/lib/uml/port-helper"
cp -a "$here/files/." "$root/"
pack "$root" "$OUT/host.cpio.zst"

# pack_kernel <flavour> <step output>: one segment holding /opt/uml/<flavour>/linux.
pack_kernel() {
  local dir="$WORK/$1"
  mkdir -p "$dir/opt/uml/$1"
  cp "$2/linux" "$2/release" "$dir/opt/uml/$1/"
  [ ! -e "$2/cow-flush" ] || cp "$2/cow-flush" "$dir/opt/uml/$1/"
  [ ! -e "$2/ip-config" ] || cp "$2/ip-config" "$dir/opt/uml/$1/"
  pack "$dir" "$OUT/uml-$1.cpio.zst"
}
pack_kernel lean "$IN_UML_KERNEL"
pack_kernel debian "$IN_UML_DEBIAN"
