#!/usr/bin/env bash
# Unpacks the pinned linux-source-6.1 tarball into $WORK and prints the tree's path.
set -euo pipefail
tarball=$(ls "$DEBS"/linux-source-6.1/usr/src/linux-source-6.1.tar.xz)
tar -xJf "$tarball" -C "$WORK"
echo "$WORK/linux-source-6.1"
