// A disk made for another image release is never booted on this one: the page offers a choice instead.
import { expect, test, umlabPage } from "./fixtures.ts";

test("a disk from an older release gets the stale-disk choice, and export-and-start-fresh works", async ({ page }) => {
  test.setTimeout(300_000);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  await umlab.capture("echo old > /root/old-release && sync && echo ok");
  // Leave the app first: a running worker rewrites the overlay's meta on every commit and would undo the edit.
  await page.goto("/favicon.svg");
  // Make the stored disk look as if an older release (whose artifacts the browser no longer has) made it.
  await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open("umlab");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const store = db.transaction("kv", "readwrite").objectStore("kv");
    const get = <T,>(key: IDBValidKey): Promise<T> =>
      new Promise((resolve, reject) => {
        const r = store.get(key);
        r.onsuccess = () => resolve(r.result as T);
        r.onerror = () => reject(r.error);
      });
    const oldSha = "0".repeat(64);
    const meta = await get<{ backingSha256: string }>(["overlay", "default", "meta"]);
    const release = await get<{ builtAt: string; artifacts: { rootfs: { sha256: string } } }>(["overlay", "default", "release"]);
    store.put({ ...meta, backingSha256: oldSha }, ["overlay", "default", "meta"]);
    store.put({ ...release, builtAt: "2020-01-01T00:00:00.000Z", artifacts: { ...release.artifacts, rootfs: { ...release.artifacts.rootfs, sha256: oldSha } } }, ["overlay", "default", "release"]);
    await new Promise<void>((resolve, reject) => {
      store.transaction.oncomplete = () => resolve();
      store.transaction.onerror = () => reject(store.transaction.error);
    });
    db.close();
  });

  await page.goto("/");
  await expect(page.getByTestId("stale-dialog")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("stale-dialog")).toContainText("2020");
  // That release's artifacts are not cached, so it cannot be kept.
  await expect(page.getByTestId("stale-keep")).toBeDisabled();
  expect(await page.evaluate(() => window.umlab?.stage)).not.toBe("ready");

  const downloading = page.waitForEvent("download");
  await page.getByTestId("stale-export").click();
  expect((await downloading).suggestedFilename()).toMatch(/\.cow\.gz$/);
  await expect.poll(() => page.evaluate(() => window.umlab?.startKind), { timeout: 60_000 }).toBe("snapshot");
  await umlab.waitForStage("ready", 60_000);
  expect(await umlab.capture("ls /root | wc -l")).toBe("0");
});
