// The pre-booted snapshot carries the rootfs disk's image: a restore fetches the state (and the BIOS) and
// no rootfs artifact, and UML still reads its root image, through the host's sda, from what the state held.
import { describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import type { Machine } from "../workers/core/machine.ts";
import type { ManifestArtifact } from "../workers/core/manifest.ts";
import { createStateDisk, releaseBacking } from "../workers/core/state-disk.ts";
import { createNodeMachine, defaultImagesDir, FileArtifactSource, loadManifest } from "./node-machine.ts";

describe("the pre-booted snapshot", { timeout: 300_000 }, () => {
  it("restores with its own root disk and writes nothing by itself: no rootfs download, and UML reads busybox back from the carried image after dropping its caches", async () => {
    await buildImages();
    const dir = defaultImagesDir();
    const manifest = await loadManifest(dir);
    expect(manifest.snapshots?.lean?.rootDiskBytes).toBeGreaterThan(0);
    const fetched = new Set<string>();
    let out = "";
    let hostOut = "";
    let machine: Machine | undefined;
    const stateDisk = createStateDisk(releaseBacking(manifest));
    try {
      machine = createNodeMachine(dir, manifest, "lean", false, {
        stage: () => undefined,
        download: (p) => fetched.add(p.artifact),
        output: (id, bytes) => {
          if (id === "uml") out += new TextDecoder().decode(bytes);
          else hostOut += new TextDecoder().decode(bytes);
        },
      }, { start: "snapshot", stateDisk });
      await machine.boot();
      expect([...fetched].sort()).toEqual(["bios", "snapshot", "vgaBios"]);
      expect(machine.rootDisk?.byteLength).toBe(manifest.snapshots?.lean?.rootDiskBytes);
      // Left alone (the clocks set, leases renewed), the restored machine writes nothing to its disk: the
      // snapshot was taken with UML's pages written back, so a lab's disk stays pristine until the user acts.
      const written = new Map([...stateDisk.storedBlocks].map(([i, b]) => [i, b.slice()]));
      await new Promise((r) => setTimeout(r, 8000));
      const changed = [...stateDisk.storedBlocks].filter(([i, b]) => !written.get(i)?.every((byte, k) => byte === b[k])).map(([i]) => i);
      expect(changed).toEqual([]);
      // UML drops its page cache, so busybox comes from its root image again: from the image the state
      // carried (the host's caches were dropped before the snapshot). It is Debian's busybox-static, the same
      // file as the host's own /bin/busybox.
      const sum = async (id: "uml" | "host", command: string): Promise<string> => {
        const tag = `S${Math.random().toString(36).slice(2, 8)}`;
        let text = "";
        const done = new Promise<void>((resolve) => {
          const check = setInterval(() => {
            text = id === "uml" ? out : hostOut;
            if (new RegExp(`${tag}=[0-9a-f]{32}`).test(text)) {
              clearInterval(check);
              resolve();
            }
          }, 200);
        });
        machine?.sendInput(id, new TextEncoder().encode(`${command} | sed 's/^/${tag}=/'\n`));
        await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`no md5sum on ${id}`)), 120_000))]);
        return new RegExp(`${tag}=([0-9a-f]{32})`).exec(text)?.[1] ?? "";
      };
      // One line a command prints in UML, after a tag.
      const say = async (id: "uml" | "host", command: string): Promise<string> => {
        const tag = `Y${Math.random().toString(36).slice(2, 8)}`;
        const start = (id === "uml" ? out : hostOut).length;
        // Quotes split the tag as typed, so the terminal's echo of the line never matches.
        machine?.sendInput(id, new TextEncoder().encode(`echo ${tag.slice(0, 3)}""${tag.slice(3)}=$(${command})=""${tag}\n`));
        const pattern = new RegExp(`${tag}=(.*)=${tag}`);
        for (let waited = 0; waited < 60_000; waited += 200) {
          const found = pattern.exec((id === "uml" ? out : hostOut).slice(start));
          if (found) return found[1] ?? "";
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`no answer to "${command}" on ${id}`);
      };
      const inUml = await sum("uml", "sync; echo 3 > /proc/sys/vm/drop_caches; md5sum /bin/busybox | cut -c1-32");
      const onHost = await sum("host", "md5sum /bin/busybox | cut -c1-32");
      expect(inUml).toMatch(/^[0-9a-f]{32}$/);
      expect(inUml).toBe(onHost);
      // The clock was set by umlab-clockd, which reads UML's clock line for umlab-clock (no `date -s` fork):
      // it is there, sets the clock and syncs, and hands any other line on to descriptor 3 (EBADF without one).
      expect(await say("uml", "pidof umlab-clockd >/dev/null && echo running")).toBe("running");
      expect(await say("uml", `t=$(date +%s); printf 'x1\\n%s\\nsync\\n' $t | umlab-clockd | sed "s/$t/T/" | tr '\\n' ,`)).toBe("error x1 9,ok T,ok sync,");
      expect(await say("uml", "printf 'poweroff\\n' | umlab-clockd 3>&1")).toBe("poweroff");
      // The host's clock came from the host's umlab-clockd, on the FIFOs the agent writes: it answers there
      // (5 s after the epoch is refused, so this leaves the clock alone).
      expect(await say("host", "{ echo 5 >&7; read -t 3 -r r <&8; echo $r; } 7<>/run/umlab-hostclock.in 8<>/run/umlab-hostclock.out")).toBe("error 5 22");
      // It lists the listening TCP ports too, for the page's port poll: the host agent's answer comes from it.
      // busybox httpd listens before it returns (it daemonizes after the bind).
      expect(await say("uml", "httpd -p 7777 -h /tmp && echo started")).toBe("started");
      expect(await say("uml", "printf 'ports\\n' | umlab-clockd")).toMatch(/^ok ports( \d+)* 7777( \d+)*$/);
      expect(await machine.agentRequest("ports")).toMatch(/^ok ports( \d+)* 7777( \d+)*$/);
      // A UML that does not answer (here stopped by mconsole) is an error, not an empty list of ports.
      expect(await machine.agentRequest("mconsole stop")).toBe("ok mconsole 0");
      await expect(machine.agentRequest("ports")).rejects.toThrow(/UML did not answer within 3 s/);
      expect(await machine.agentRequest("mconsole go")).toBe("ok mconsole 0");
      expect(await machine.agentRequest("ports")).toMatch(/^ok ports( \d+)* 7777( \d+)*$/);
      // The restored UML kept the lease the snapshot recorded (the worker's stack starts with it; no renewal).
      const umlLease = manifest.snapshots?.lean?.leases?.find((lease) => lease.mac === "52:54:00:12:34:56")?.ip;
      expect(umlLease).toMatch(/^10\.0\.2\.\d+$/);
      expect(await say("uml", "ifconfig eth0 | sed -n 's/.*inet addr:\\([0-9.]*\\).*/\\1/p'")).toBe(umlLease);
      // The boot scripts use shell builtins where they can: the hostname came from /etc/hostname by `read`.
      expect(await say("uml", "hostname")).toBe("umlab");
      // fstab's "/." line remounted the root noatime within `mount -a`: reads write nothing to the disk.
      expect(await say("uml", "grep ' / ' /proc/mounts")).toMatch(/^\/dev\/root \/ ext4 rw,noatime[, ]/);
      // The lean kernel took the lease itself before init (ip= from the host's umlab-uml), so no udhcpc ran,
      // and rcS wrote resolv.conf from the DNS servers the kernel lists in /proc/net/pnp.
      expect(await say("uml", "read -r _ proto </proc/net/pnp; echo $proto; cat /etc/resolv.conf; pidof udhcpc || echo none")).toBe("DHCP nameserver 10.0.2.3 none");
      // The udhcpc hook run by hand as udhcpc runs it (`udhcpc -i eth0`): deconfig drops the address (and empties
      // the hook's lease file), so a bound with the same address must set it again, and records it.
      const hook = `export interface=eth0 ip=${umlLease ?? ""} router=10.0.2.2 dns=10.0.2.3; s=/usr/share/udhcpc/default.script`;
      const addr = "ifconfig eth0 | sed -n 's/.*inet addr:\\([0-9.]*\\).*/\\1/p'";
      expect(await say("uml", `${hook}; $s deconfig; a=$(${addr}); $s bound; echo "[$a]$(${addr})"`)).toBe(`[]${umlLease ?? ""}`);
      // (ip route ends its line with a space.)
      expect((await say("uml", "read -r ip _ </run/udhcpc-eth0.lease; echo $ip; ip route | grep ^default")).trim()).toBe(`${umlLease ?? ""} default via 10.0.2.2 dev eth0`);
      // While this host shell is at hand: the boot watchdogs' sampler, umlab-watch, in the host. A wedged UML's
      // status has SIGSEGV pending inside a handler (SIGALRM blocked); a healthy one has not.
      const once = "/sys/block/sda/stat 0 1";
      const sample = (pending: string, blocked: string): string =>
        `printf 'Name:\\tlinux\\nSigPnd:\\t${pending}\\nSigBlk:\\t${blocked}\\n' > /tmp/status; umlab-watch /tmp/status ${once}`;
      expect(await say("host", sample("0000000000000400", "0000000018003000"))).toMatch(/^\d+ - 1$/);
      expect(await say("host", sample("0000000000000400", "0000000000001000"))).toMatch(/^\d+ - 0$/);
      expect(await say("host", sample("0000000000002000", "0000000018003000"))).toMatch(/^\d+ - 0$/);
      // A process that is gone ends it at once, with nothing printed; bad usage is refused.
      expect(await say("host", `umlab-watch /proc/999999/status ${once}; echo "[$?]"`)).toBe("[0]");
      expect(await say("host", "umlab-watch /proc/1/status 2>&1; echo \"[$?]\"")).toBe("usage: umlab-watch <status file> <disk stat file> [<interval ms> [<count>]] [2]");
      // Its counters are the tools' numbers: sda's completed reads and UML's voluntary context switches (UML is
      // stopped meanwhile, so neither moves between the two reads). Then lines at the interval, count of them.
      const uml = "$(cat /run/umlab-uml-pid)";
      expect(await machine.agentRequest("mconsole stop")).toBe("ok mconsole 0");
      const watched = await say("host", `umlab-watch /proc/${uml}/status ${once}`);
      const byTools = await say("host", `echo "$(awk '{print $1}' /sys/block/sda/stat) $(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' /proc/${uml}/status) 0"`);
      expect(await machine.agentRequest("mconsole go")).toBe("ok mconsole 0");
      expect(watched).toMatch(/^\d+ \d+ 0$/);
      expect(watched).toBe(byTools);
      expect(await say("host", `umlab-watch /proc/${uml}/status /sys/block/sda/stat 100 3 | wc -l`)).toBe("3");
    } finally {
      await machine?.stop();
    }
  });

  it("sets v86 up while the snapshot is still downloading, and restores it once it has arrived", async () => {
    await buildImages();
    const dir = defaultImagesDir();
    const manifest = await loadManifest(dir);
    const files = new FileArtifactSource(dir);
    let release: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (release = resolve));
    // The snapshot's download ends only when the test says so; the other artifacts come at once.
    const source = { read: async (artifact: ManifestArtifact, onProgress: (loaded: number) => void): Promise<Uint8Array> => {
      const bytes = await files.read(artifact, onProgress);
      if (artifact.file === manifest.snapshots?.lean?.file) await arrived;
      return bytes;
    } };
    let out = "";
    const machine = createNodeMachine(dir, manifest, "lean", false, { stage: () => undefined, download: () => undefined, output: (id, bytes) => void (id === "uml" && (out += new TextDecoder().decode(bytes))) }, { start: "snapshot", source });
    try {
      const booting = machine.boot();
      for (let waited = 0; machine.cpuProbe === undefined; waited += 20) {
        if (waited > 60_000) throw new Error("v86 was not set up while the snapshot was held back");
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(machine.stage).toBe("download");
      release();
      await booting;
      expect(machine.stage).toBe("ready");
      machine.sendInput("uml", new TextEncoder().encode("echo $((6*7))x\n"));
      for (let waited = 0; !out.includes("42x"); waited += 100) {
        if (waited > 60_000) throw new Error(`UML did not answer after the restore: ${out.slice(-300)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await machine.stop();
    }
  });
});
