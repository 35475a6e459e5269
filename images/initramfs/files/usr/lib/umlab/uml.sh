# Shell functions shared by umlab-uml and umlab-agent (sourced, not run).

# The PIDs of every process of the UML whose umid is $1, helpers included.
uml_pids() {
  for p in /proc/[0-9]*; do
    grep -q "umid=$1" "$p/cmdline" 2>/dev/null && echo "${p#/proc/}"
  done
}

# Waits (at most 30 s) until no process of UML $1 is left and nothing holds /dev/sdb open, killing
# stragglers: the next UML, or uml_moo, needs the COW file unlocked. One ls, since a readlink per fd
# would take seconds in busybox. Fails if sdb is still busy.
wait_sdb_free() {
  for _ in $(seq 30); do
    busy=$(ls -l /proc/[0-9]*/fd 2>/dev/null | grep -c ' /dev/sdb$')
    [ -z "$(uml_pids "$1")" ] && [ "$busy" = 0 ] && return 0
    kill -9 $(uml_pids "$1") 2>/dev/null
    sleep 1
  done
  return 1
}
