// Work survives a killed page: after `sync` in UML, the whole browser is SIGKILLed within 2 s (no unload,
// no clean shutdown), and the file is there, intact, when the lab opens again. Real Chromium, real
// IndexedDB, five rounds, no losses allowed.
import { COLD_BOOT_MS, expect, test, umlabPage, withProfile } from "./fixtures.ts";

test("a synced file survives killing the page, five times in a row", async () => {
  test.setTimeout(5 * COLD_BOOT_MS + 300_000);
  await withProfile(async (profile) => {
    let page = await (await profile.open()).newPage();
    let umlab = umlabPage(page);
    await page.goto("/");
    await umlab.waitForStage("ready", 150_000);
    const written: { name: string; sum: string }[] = [];
    for (let round = 1; round <= 5; round++) {
      const name = `/root/round${round}.bin`;
      // 256 KiB of random bytes, checksummed inside UML, then synced.
      const sum = await umlab.capture(`dd if=/dev/urandom of=${name} bs=4096 count=64 2>/dev/null && sync && sha256sum ${name} | cut -c1-64`);
      expect(sum).toMatch(/^[0-9a-f]{64}$/);
      written.push({ name, sum });
      // No clean unload: the browser dies at once, well within 2 s of sync returning.
      await profile.kill();

      page = await (await profile.open()).newPage();
      umlab = umlabPage(page);
      await page.goto("/");
      // A cold boot of the written disk, so the cold-boot time limit (docs/boot.md).
      await umlab.waitForStage("ready", COLD_BOOT_MS);
      // Every file written so far is still there with its checksum.
      const sums = await umlab.capture(`sha256sum ${written.map((w) => w.name).join(" ")} | cut -c1-64`);
      expect(sums.split(/\s+/)).toEqual(written.map((w) => w.sum));
    }
  });
});
