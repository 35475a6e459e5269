// The pre-booted snapshot carries the rootfs disk's image: a restore fetches the state (and the BIOS) and
// no rootfs artifact, and UML still reads its root image, through the host's sda, from what the state held.
import { describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import type { Machine } from "../workers/core/machine.ts";
import { createStateDisk, releaseBacking } from "../workers/core/state-disk.ts";
import { createNodeMachine, defaultImagesDir, loadManifest } from "./node-machine.ts";

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
      const inUml = await sum("uml", "sync; echo 3 > /proc/sys/vm/drop_caches; md5sum /bin/busybox | cut -c1-32");
      const onHost = await sum("host", "md5sum /bin/busybox | cut -c1-32");
      expect(inUml).toMatch(/^[0-9a-f]{32}$/);
      expect(inUml).toBe(onHost);
    } finally {
      await machine?.stop();
    }
  });
});
