// Instant start: the default page restores the pre-booted snapshot instead of booting.
import { COLD_BOOT_MS, expect, test, umlabPage } from "./fixtures.ts";

test("a fresh visit restores the snapshot to a working UML prompt with the right clock", async ({ page }) => {
  const umlab = umlabPage(page);
  const manifest = await umlab.manifest();
  const snapshot = manifest.snapshots?.lean;
  expect(snapshot, "npm run images ships a lean snapshot").toBeDefined();
  // The worker starts the downloads as it loads, before the page asks (PrefetchHint): each file still once.
  const requests = new Map<string, number>();
  page.context().on("request", (r) => {
    const file = new URL(r.url()).pathname.replace(/^\/images\//, "");
    requests.set(file, (requests.get(file) ?? 0) + 1);
  });
  // From ready on, the UML terminal keeps its size (nothing above it changes height then, so ash does not
  // redraw its prompt at new sizes), and the list of downloads never opens for a restore's few fast files.
  await page.addInitScript(() => {
    const seen: { sizes: string[]; downloadsOpened: boolean } = { sizes: [], downloadsOpened: false };
    (window as unknown as { startLayout: typeof seen }).startLayout = seen;
    const sample = (): void => {
      if (document.querySelector("details.downloads")?.hasAttribute("open")) seen.downloadsOpened = true;
      const hook = window.umlab;
      if (hook?.stage === "ready") {
        const size = hook.consoleSize("uml");
        const text = `${size.cols}x${size.rows}`;
        if (seen.sizes.at(-1) !== text) seen.sizes.push(text);
      }
      requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  });
  await page.goto("/");
  await umlab.waitForStage("ready", 60_000);
  expect(await page.evaluate(() => window.umlab?.startKind)).toBe("snapshot");
  // The worker had restored the snapshot before the page asked, and the boot took that machine over.
  expect(await page.evaluate(() => window.umlab?.preparedEarly)).toBe(true);
  await expect(page.getByTestId("start-info")).toHaveAttribute("data-kind", "snapshot");
  // The host kernel, initramfs, UML kernel and the rootfs disk are inside the state: they are not downloaded.
  expect(snapshot?.rootDiskBytes, "the snapshot carries the rootfs disk").toBeGreaterThan(0);
  const downloaded = await page.evaluate(() => window.umlab?.downloadedBytes ?? 0);
  const a = manifest.artifacts;
  expect(downloaded).toBe(a.bios.size + a.vgaBios.size + (snapshot?.size ?? 0));
  for (const file of [a.bios.file, a.vgaBios.file, snapshot?.file ?? "snapshot"]) expect(requests.get(file), `requests for ${file}`).toBe(1);
  expect(requests.get(a.rootfs.file), "the rootfs disk is in the snapshot").toBeUndefined();

  const out = await umlab.run("uml", "echo sum=$((6*7))", /sum=42/);
  expect(out).toContain("sum=42");
  const layout = await page.evaluate(() => (window as unknown as { startLayout: { sizes: string[]; downloadsOpened: boolean } }).startLayout);
  expect(layout.sizes, "the UML terminal's sizes from ready to the first answer").toHaveLength(1);
  expect(layout.downloadsOpened).toBe(false);
  // The state was saved at build time; after the restore both clocks must say now.
  const umlNow = Number(await umlab.capture("date +%s"));
  expect(Math.abs(umlNow - Date.now() / 1000)).toBeLessThan(60);
  await page.getByTestId("tab-host").click();
  const hostOut = await umlab.run("host", "echo host=$(date +%s)", /host=\d+\n/);
  const hostNow = Number(/host=(\d+)\n/.exec(hostOut)?.[1]);
  expect(Math.abs(hostNow - Date.now() / 1000)).toBeLessThan(60);
});

test("a boot that needs another machine than the one the worker prepared gets a fresh one that works", async ({ page }) => {
  const umlab = umlabPage(page);
  // v86's own network backend is another NIC set-up than the prepared machine's, so that one is dropped.
  await page.goto("/?net=v86-fetch&relay=none");
  await umlab.waitForStage("ready", 60_000);
  expect(await page.evaluate(() => window.umlab?.startKind)).toBe("snapshot");
  expect(await page.evaluate(() => window.umlab?.preparedEarly)).toBe(false);
  expect(await umlab.run("uml", "echo sum=$((6*7))", /sum=42/)).toContain("sum=42");
});

test("?boot=cold boots the kernels even when a snapshot exists", async ({ page }) => {
  test.setTimeout(COLD_BOOT_MS + 60_000);
  const umlab = umlabPage(page);
  await page.goto("/?boot=cold");
  await umlab.waitForStage("ready", COLD_BOOT_MS);
  expect(await page.evaluate(() => window.umlab?.startKind)).toBe("cold");
  await expect(page.locator('[data-stage="host-kernel"]')).toHaveAttribute("data-state", "done");
});
