#!/usr/bin/env bash
# Builds umlab-clockd, the clock line's helper; the rootfs (for UML) and the host initramfs install it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Freestanding, as umlab-bench: it needs gcc-multilib only, and no libc in either image.
gcc -m32 -static -nostdlib -ffreestanding -fno-pic -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
  -O2 -Wall -Wextra -Werror -Wl,--build-id=none -s -o "$OUT/umlab-clockd" "$here/umlab-clockd.c"
