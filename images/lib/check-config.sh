#!/usr/bin/env bash
# Fails when an option asked for in a fragment did not survive olddefconfig (a silent drop is a broken image).
set -euo pipefail
fragment=$1 config=$2
bad=0
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  opt=${line%%=*} want=${line#*=}
  if [ "$want" = n ]; then
    if grep -q "^$opt=" "$config"; then echo "config: $opt wanted off, got $(grep "^$opt=" "$config")" >&2; bad=1; fi
  else
    got=$(grep "^$opt=" "$config" || true)
    if [ "$got" != "$opt=$want" ]; then echo "config: $opt wanted $want, got '${got:-unset}'" >&2; bad=1; fi
  fi
done < "$fragment"
exit $bad
