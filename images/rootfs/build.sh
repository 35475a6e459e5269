#!/usr/bin/env bash
# Builds the UML root filesystem: an ext4 image with busybox, the config in files/, and the lean kernel's modules.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root="$WORK/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt,var/log,lib}
chmod 1777 "$root/tmp"
cp "$DEBS/busybox-static/bin/busybox" "$root/bin/busybox"
# One symlink per applet, at the path busybox itself reports.
for applet in $("$root/bin/busybox" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
cp -a "$here/files/." "$root/"
cp -a "$IN_UML_KERNEL/modules/lib/modules" "$root/lib/"
find "$root" -exec touch -h -d @1735689600 {} +
export E2FSPROGS_FAKE_TIME=1735689600
mkfs.ext4 -q -F -L umlab-root -U 6d6c6162-0000-4000-8000-726f6f746673 -E hash_seed=6d6c6162-0000-4000-8000-000000000001,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0 \
  -N 8192 -d "$root" "$OUT/rootfs.ext4" "${ROOTFS_SIZE:-256M}"
