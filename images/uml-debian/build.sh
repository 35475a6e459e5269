#!/usr/bin/env bash
# Takes Debian's prebuilt i386 UML kernel (user-mode-linux:i386) as the "debian" flavour.
set -euo pipefail
cp "$DEBS/user-mode-linux/usr/bin/linux.uml" "$OUT/linux"
# The package ships its modules under /usr/lib/uml/modules/<release>; that directory names the release.
basename "$(ls -d "$DEBS"/user-mode-linux/usr/lib/uml/modules/*/)" > "$OUT/release"
