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
cp "$IN_BENCH_TOOL/umlab-bench" "$root/usr/bin/umlab-bench"
cp "$IN_CLOCKD/umlab-clockd" "$root/usr/sbin/umlab-clockd"
find "$root" -exec touch -h -d @1735689600 {} +
export E2FSPROGS_FAKE_TIME=1735689600
mkfs.ext4 -q -F -L umlab-root -U 6d6c6162-0000-4000-8000-726f6f746673 -E hash_seed=6d6c6162-0000-4000-8000-000000000001,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0 \
  -N 8192 -d "$root" "$OUT/rootfs.ext4" "${ROOTFS_SIZE:-256M}"

# The host's IDE disk sda: an ext4 filesystem holding the root image as a regular file, so the host's
# uml_moo (which sizes a backing file with stat) can merge into it. The name carries the image's hash.
name="rootfs-$(sha256sum "$OUT/rootfs.ext4" | cut -c1-12).img"
mkdir -p "$WORK/images"
cp "$OUT/rootfs.ext4" "$WORK/images/$name"
touch -d @1735689600 "$WORK/images"
mkfs.ext4 -q -F -b 4096 -L umlab-images -U 6d6c6162-0000-4000-8000-696d61676573 -N 16 -m 0 -O ^resize_inode \
  -E hash_seed=6d6c6162-0000-4000-8000-000000000002,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0 \
  -d "$WORK/images" "$OUT/images.ext4" "${IMAGES_DISK_SIZE:-320M}"
# Every block of the file gets a place on the disk now (holes become unwritten extents), so a merge never
# moves data and the worker can read the file through the extent map recorded here.
blocks=$(( $(stat -c %s "$OUT/rootfs.ext4") / 4096 ))
mtime=946684800
debugfs -w -f - "$OUT/images.ext4" >/dev/null <<DEBUGFS
fallocate /$name 0 $((blocks - 1))
sif /$name mtime @$mtime
sif /$name atime @$mtime
sif /$name ctime @1735689600
DEBUGFS
debugfs -R "dump_extents -l /$name" "$OUT/images.ext4" > "$OUT/extents.txt" 2>/dev/null
echo "$name" > "$OUT/backing-name"
echo "$mtime" > "$OUT/backing-mtime"
e2fsck -fn "$OUT/images.ext4" >/dev/null
