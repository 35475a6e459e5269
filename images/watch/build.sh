#!/usr/bin/env bash
# Builds umlab-watch, the sampler of the host's UML boot watchdogs; the host initramfs installs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Freestanding, as umlab-clockd: it needs gcc-multilib only.
gcc -m32 -static -nostdlib -ffreestanding -fno-pic -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
  -O2 -Wall -Wextra -Werror -Wl,--build-id=none -s -o "$OUT/umlab-watch" "$here/umlab-watch.c"
