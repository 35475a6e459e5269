#!/usr/bin/env bash
# Copies SeaBIOS and the standard VGA BIOS from Debian's seabios package.
set -euo pipefail
cp "$DEBS/seabios/usr/share/seabios/bios.bin" "$OUT/bios.bin"
cp "$DEBS/seabios/usr/share/seabios/vgabios-stdvga.bin" "$OUT/vgabios-stdvga.bin"
