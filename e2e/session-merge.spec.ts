// Merge: uml_moo on the host folds the COW into the lab's private image; the work survives a reload, and
// Export still gives one COW against the release's image that the real uml_moo merges natively.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { COLD_BOOT_MS, expect, test, umlabPage } from "./fixtures.ts";

const root = path.join(import.meta.dirname, "..");

test("Merge folds the COW into a private image that survives a reload and exports against the release", async ({ page }, testInfo) => {
  test.setTimeout(2 * COLD_BOOT_MS + 300_000);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  const manifest = await umlab.manifest();
  expect(await umlab.capture("echo before-merge > /root/before.txt && sync && cat /root/before.txt")).toBe("before-merge");

  // Cancelling changes nothing; confirming runs uml_moo on the host and boots UML again.
  await page.getByTestId("disk-merge").click();
  await page.getByTestId("confirm-cancel").click();
  await page.getByTestId("disk-merge").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("disk-message")).toContainText(/Merged in .* private image private-1-/, { timeout: COLD_BOOT_MS });
  await umlab.waitForStage("ready", COLD_BOOT_MS);
  expect(await umlab.capture("cat /root/before.txt")).toBe("before-merge");
  // The host lists the private image in place of the release's, and UML's COW names it.
  const listing = await umlab.run("host", "ls /images; head -c 64 /dev/sdb | tail -c 32; echo", /private-1-[0-9a-f]{8}\.img[^]*\/images\/private-1-/);
  expect(listing).not.toContain(manifest.backing.file);

  expect(await umlab.capture("echo after-merge > /root/after.txt && sync && cat /root/after.txt")).toBe("after-merge");
  await page.reload();
  await umlab.waitForStage("ready", COLD_BOOT_MS);
  expect(await page.evaluate(() => window.umlab?.startKind)).toBe("cold");
  expect(await umlab.capture("echo $(cat /root/before.txt /root/after.txt)")).toBe("before-merge after-merge");

  // Export: one COW against the release's image, whatever was merged.
  const downloading = page.waitForEvent("download");
  await page.getByTestId("disk-export").click();
  const download = await downloading;
  const exported = testInfo.outputPath("merged.cow.gz");
  await download.saveAs(exported);
  const cow = gunzipSync(await readFile(exported));
  expect(cow.subarray(32, 32 + 64).toString("latin1")).toContain(`/images/${manifest.backing.file}`);

  const tmp = await mkdtemp(path.join(os.tmpdir(), "umlab-merge-"));
  try {
    const release = path.join(tmp, "release.img");
    await copyFile(releaseImage(manifest.backing.sha256), release);
    await utimes(release, manifest.backing.mtime, manifest.backing.mtime);
    await writeFile(path.join(tmp, "export.cow"), cow);
    execFileSync(path.join(umlUtilitiesBin(), "uml_moo"), ["-b", release, "export.cow", "merged.img"], { cwd: tmp, stdio: "pipe" });
    const cat = (file: string): string => execFileSync("debugfs", ["-R", `cat ${file}`, path.join(tmp, "merged.img")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    expect(cat("/root/before.txt")).toBe("before-merge\n");
    expect(cat("/root/after.txt")).toBe("after-merge\n");
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

/** The release's root image as `npm run images` built it (its step output), found by its sha256. */
function releaseImage(sha256: string): string {
  const cache = path.join(root, "images", ".work", "cache");
  for (const dir of readdirSync(cache).filter((d) => d.startsWith("rootfs-") && !d.endsWith(".tmp"))) {
    const file = path.join(cache, dir, "rootfs.ext4");
    if (existsSync(file) && createHash("sha256").update(readFileSync(file)).digest("hex") === sha256) return file;
  }
  throw new Error(`no rootfs.ext4 with sha256 ${sha256} under ${cache}: run npm run images`);
}

/** The pinned uml-utilities:i386 tools, unpacked by `npm run images`. */
function umlUtilitiesBin(): string {
  const cache = process.env.UMLAB_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "umlab");
  const unpacked = path.join(cache, "debs", "unpacked");
  const dir = readdirSync(unpacked).find((d) => /^uml-utilities_.*_i386$/.test(d));
  if (!dir) throw new Error(`uml-utilities (i386) is not unpacked under ${unpacked}: run npm run images`);
  return path.join(unpacked, dir, "usr", "bin");
}
