// The disk's lifecycle from the page: reset to pristine, export as a UML COW file and import it back.
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { COLD_BOOT_MS, expect, test, umlabPage } from "./fixtures.ts";

test("reset, export and import round-trip the user's files", async ({ page }, testInfo) => {
  test.setTimeout(COLD_BOOT_MS + 600_000);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  const sum = await umlab.capture("head -c 100000 /dev/urandom > /root/keep.bin && sync && sha256sum /root/keep.bin | cut -c1-64");
  expect(sum).toMatch(/^[0-9a-f]{64}$/);

  // Export: a gzip-compressed UML COW file (the header names the release's backing image).
  const downloading = page.waitForEvent("download");
  await page.getByTestId("disk-export").click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^umlab-default-.*\.cow\.gz$/);
  const exported = testInfo.outputPath(download.suggestedFilename());
  await download.saveAs(exported);
  const cow = gunzipSync(await readFile(exported));
  expect(cow.subarray(0, 4).toString("latin1")).toBe("OOOM");
  expect(cow.readUInt32BE(4)).toBe(3);
  const manifest = await umlab.manifest();
  expect(cow.subarray(32, 32 + 64).toString("latin1")).toContain(`/images/${manifest.backing.file}`);

  // A wrong file is refused with a clear message, and the running machine and disk stay as they were.
  await page.getByTestId("disk-import-file").setInputFiles({ name: "notes.cow", mimeType: "application/octet-stream", buffer: Buffer.from("this is not a COW file at all\n".repeat(200)) });
  await expect(page.getByTestId("disk-message")).toContainText(/not a UML COW file/i);
  expect(await page.evaluate(() => window.umlab?.stage)).toBe("ready");
  await umlab.run("uml", "ls /root", /keep\.bin/);

  // Reset asks first; cancelling keeps everything.
  await page.getByTestId("disk-reset").click();
  await page.getByTestId("confirm-cancel").click();
  await umlab.run("uml", "ls /root", /keep\.bin/);
  await page.getByTestId("disk-reset").click();
  await page.getByTestId("confirm-ok").click();
  await expect.poll(() => page.evaluate(() => window.umlab?.startKind), { timeout: 60_000 }).toBe("snapshot");
  await umlab.waitForStage("ready", 60_000);
  expect(await umlab.capture("ls /root | wc -l")).toBe("0");

  // Import brings the exported disk back; the page then boots it.
  await page.getByTestId("disk-import-file").setInputFiles(exported);
  await expect.poll(() => page.evaluate(() => window.umlab?.startKind), { timeout: 60_000 }).toBe("cold");
  await umlab.waitForStage("ready", COLD_BOOT_MS);
  expect(await umlab.capture("sha256sum /root/keep.bin | cut -c1-64")).toBe(sum);
});
