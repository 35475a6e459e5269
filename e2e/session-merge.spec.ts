// Merge: the real uml_moo in the host folds the COW into a new private backing image.
import { expect, test, umlabPage } from "./fixtures.ts";

test("Merge folds the COW into a private backing image that the lab then boots", async ({ page }) => {
  test.setTimeout(400_000);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  const sum = await umlab.capture("head -c 300000 /dev/urandom > /root/merged.bin && sync && sha256sum /root/merged.bin | cut -c1-64");
  const before = await page.evaluate(() => window.umlab?.flushDisk());
  expect(before?.bytes ?? 0).toBeGreaterThan(300_000);

  await page.getByTestId("disk-merge").click();
  await page.getByTestId("confirm-ok").click();
  await expect.poll(() => page.evaluate(() => window.umlab?.startKind), { timeout: 120_000 }).toBe("cold");
  await umlab.waitForStage("ready", 180_000);
  await expect(page.getByTestId("start-info")).toContainText(/merged into a private image/);
  expect(await umlab.capture("sha256sum /root/merged.bin | cut -c1-64")).toBe(sum);
  // UML now runs on the private image, with a fresh COW that holds only what this boot wrote.
  await page.getByTestId("tab-host").click();
  await umlab.run("host", "ps | grep -o 'ubd0s=[^ ]*' | head -1", /ubd0s=\/dev\/sdb,\/images\/private-[0-9a-f]{12}\.img/);
  const after = await page.evaluate(() => window.umlab?.flushDisk());
  expect(after?.bytes ?? Infinity).toBeLessThan(before?.bytes ?? 0);
});
