#!/usr/bin/env bash
# Builds umlab-bench, the benchmark's static i386 program; rootfs and initramfs copy it to /usr/bin.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# No libc: only libgcc's 64-bit division, so the binary depends on gcc-multilib alone.
gcc -m32 -static -nostdlib -ffreestanding -fno-pic -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
  -O2 -Wall -Wextra -Werror -Wl,--build-id=none -s -o "$OUT/umlab-bench" "$here/umlab-bench.c" -lgcc
