# Shell functions shared by umlab-uml and umlab-agent (sourced, not run).

# UML's loops_per_jiffy, preset: without it every UML boot calibrates its delay loop, spinning for about
# 30 timer ticks (0.3-0.5 s inside v86). UML's drivers barely use udelay, so what v86 measured will do.
UML_LPJ=303104

# A fresh umid, <prefix>-<8 hex digits>, in $umid: from the kernel's random UUID with shell builtins only
# (head | od | tr took four forks, 0.1 s of the host's boot before UML starts).
new_umid() {
  read -r uuid </proc/sys/kernel/random/uuid
  umid=$1-${uuid%%-*}
}

# ip_config <kernel dir> <NIC argument>: in $ip, the kernel's own IP autoconfiguration (its ip-config file,
# "ip=:::::eth0:dhcp") when the kernel has one and UML gets a NIC; else empty, and UML's rcS runs udhcpc.
ip_config() {
  ip=
  if [ -n "$2" ] && [ -r "$1/ip-config" ]; then read -r ip <"$1/ip-config"; fi
}

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

