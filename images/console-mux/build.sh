#!/usr/bin/env bash
# Builds umlab-mux and umlab-term, the host's console multiplexer for UML's xterm consoles (README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Linked against the host's own i386 glibc (the initramfs has it for UML): static copies of glibc made
# each 0.7 MB of every snapshot's RAM.
for tool in umlab-mux umlab-term; do
  gcc -m32 -O2 -Wall -Wextra -Werror -Wl,--build-id=none -s -o "$OUT/$tool" "$here/$tool.c"
done
