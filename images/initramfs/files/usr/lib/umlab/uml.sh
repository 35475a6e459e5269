# Shell functions shared by umlab-uml and umlab-agent (sourced, not run).

# The PIDs of every process of the UML whose umid is $1, helpers included.
uml_pids() {
  for p in /proc/[0-9]*; do
    grep -q "umid=$1" "$p/cmdline" 2>/dev/null && echo "${p#/proc/}"
  done
}

# The PIDs of every process with /dev/sdb open, from one ls (a readlink per fd would take seconds).
sdb_holders() {
  ls -l /proc/[0-9]*/fd 2>/dev/null | awk '/^\/proc\/[0-9]+\/fd:$/ { split($0, p, "/"); pid = p[3] } / \/dev\/sdb$/ { print pid }' | sort -u
}

# Waits (at most 30 s) until no process of UML $1 is left and nothing holds /dev/sdb open, killing
# stragglers: the next UML, or uml_moo, needs the COW file unlocked. After a panic a UML helper (a clone
# sharing the dead kernel's files, so its COW lock too) has been seen to outlive the umid scan, so every
# holder of sdb counts. Fails if sdb is still busy.
wait_sdb_free() {
  for _ in $(seq 30); do
    stale="$(uml_pids "$1") $(sdb_holders)"
    [ -z "$(echo $stale)" ] && return 0
    kill -9 $stale 2>/dev/null
    sleep 1
  done
  return 1
}
