#!/usr/bin/env bash
# Builds umlab-mux and umlab-term, the host's console multiplexer for UML's xterm consoles (README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for tool in umlab-mux umlab-term; do
  gcc -m32 -static -O2 -Wall -Wextra -Werror -Wl,--build-id=none -s -o "$OUT/$tool" "$here/$tool.c"
done
