// UML's COW file on the state disk stays consistent at every commit: each bitmap bit that storage holds
// names a sector whose data storage holds too. Otherwise a tab closed while the host writes the disk back
// leaves a bit over data that never arrived, and the sector reads as zeros at the next boot (a root that
// fails its group-descriptor check). The lean kernel orders the writes itself
// (images/uml-kernel/patches/0008); Debian's gets ubd0s, so each write is synchronous.
import { describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import type { KernelFlavour } from "../workers/core/manifest.ts";
import { createStateDisk, mainCow, releaseBacking } from "../workers/core/state-disk.ts";
import { cowLayout, DEFAULT_SECTOR_SIZE } from "../workers/disk/uml-cow.ts";
import { startEmulatedUml } from "./emulated-uml.ts";
import { defaultImagesDir, loadManifest } from "./node-machine.ts";

describe("UML's COW file on the state disk", { timeout: 300_000 }, () => {
  it.each<KernelFlavour>(["lean", "debian"])("is consistent at every commit while fresh sectors are written and written back (%s)", async (kernel) => {
    await buildImages();
    const manifest = await loadManifest(defaultImagesDir());
    const backing = releaseBacking(manifest);
    const { bitmapOffset, bitmapLength, dataOffset } = cowLayout(backing.size);
    // Sectors whose data storage holds (written, or named by the bitmap when checking began).
    const written = new Set<number>();
    const unbacked = new Set<number>();
    let checking = false;
    let commits = 0;
    const setBits = (): number[] => {
      const bitmap = mainCow(disk, backing).read(bitmapOffset, bitmapLength);
      const sectors: number[] = [];
      bitmap.forEach((byte, i) => {
        for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) sectors.push(i * 8 + bit);
      });
      return sectors;
    };
    // A commit holds every write made before it starts, which is when the backend is called.
    const disk = createStateDisk(backing, {
      backend: {
        commit: () => {
          if (!checking) return Promise.resolve();
          commits++;
          for (const sector of setBits()) if (!written.has(sector)) unbacked.add(sector);
          return Promise.resolve();
        },
      },
    });
    const write = disk.write.bind(disk);
    disk.write = (offset: number, data: Uint8Array): void => {
      const first = Math.max(0, Math.floor((offset - dataOffset) / DEFAULT_SECTOR_SIZE));
      const end = Math.ceil((offset + data.length - dataOffset) / DEFAULT_SECTOR_SIZE);
      for (let sector = first; sector < end && sector < backing.size / DEFAULT_SECTOR_SIZE; sector++) written.add(sector);
      write(offset, data);
    };

    const uml = await startEmulatedUml({ kernel, stateDisk: disk });
    try {
      await disk.flush();
      const before = setBits();
      for (const sector of before) written.add(sector);
      checking = true;
      // A new file and its metadata land on sectors the COW does not hold yet; the host writes them back
      // by itself within its dirty_expire (1 s) or at the sync.
      const r = await uml.run("dd if=/dev/urandom of=/root/fresh bs=4k count=512 2>/dev/null && mkdir -p /root/d && for i in 1 2 3 4 5 6 7 8; do echo $i > /root/d/$i; done && sync && echo done", 120_000);
      expect(r.output.trim()).toBe("done");
      expect((await uml.host("sleep 2; sync; echo synced")).output.trim()).toBe("synced");
      await disk.flush();
      const after = setBits();
      // The check saw new bits reach storage, or it proved nothing.
      expect(after.length - before.length).toBeGreaterThanOrEqual(4096);
      expect(commits).toBeGreaterThan(0);
      expect([...unbacked].slice(0, 20), `${unbacked.size} sectors were named by the bitmap before their data was stored`).toEqual([]);
    } finally {
      checking = false;
      await uml.stop();
    }
  });
});
