// Your own kernel: an uploaded UML binary is checked on the host and boots in place of the lean one; an
// x86_64 program is refused with a clear message. The command line editor validates and resets.
import path from "node:path";
import { buildImages } from "../images/build.ts";
import { COLD_BOOT_MS, expect, test, umlabPage } from "./fixtures.ts";

test("an x86_64 binary is refused, and an uploaded i386 UML (Debian's) boots with an edited command line", async ({ page }) => {
  test.setTimeout(2 * COLD_BOOT_MS);
  const steps = await buildImages();
  const debian = steps.get("uml-debian");
  if (!debian) throw new Error("the image build did not report the uml-debian step");
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  await page.getByTestId("tool-kernel").click();

  await page.getByTestId("kernel-upload-file").setInputFiles("/bin/true");
  await expect(page.getByTestId("kernel-upload-result")).toContainText("64-bit", { timeout: 60_000 });

  // The running kernel's --showconfig, filtered.
  await page.getByTestId("kernel-show-config").click();
  await page.getByTestId("kernel-config-filter").fill("HOSTFS");
  await expect(page.getByTestId("kernel-config-text")).toContainText("CONFIG_HOSTFS=y", { timeout: 60_000 });

  // The command line: an error blocks booting, Reset restores the defaults.
  await page.getByTestId("kernel-cmdline").fill("mem=4G umid=mine");
  await expect(page.getByTestId("kernel-cmdline-errors")).toContainText("umid", { timeout: 10_000 });
  await expect(page.getByTestId("kernel-boot")).toBeDisabled();
  await page.getByTestId("kernel-cmdline-reset").click();
  await expect(page.getByTestId("kernel-cmdline")).toHaveValue("mem=64M quiet");

  await page.getByTestId("kernel-upload-file").setInputFiles({ name: "linux-debian", mimeType: "application/octet-stream", buffer: (await import("node:fs")).readFileSync(path.join(debian, "linux")) });
  await expect(page.getByTestId("kernel-upload-version")).toContainText("6.1", { timeout: 120_000 });
  await page.getByTestId("kernel-choice").selectOption("upload:linux-debian");
  await page.getByTestId("kernel-cmdline").fill("mem=96M quiet");
  await page.getByTestId("kernel-boot").click();
  await page.getByTestId("confirm-ok").click();
  await expect.poll(async () => (await page.evaluate(() => window.umlab?.umlState()))?.kernel, { timeout: 60_000 }).toBe("upload:linux-debian");
  await expect.poll(async () => (await page.evaluate(() => window.umlab?.umlState()))?.state, { timeout: COLD_BOOT_MS }).toBe("running");
  const release = await umlab.capture("uname -r");
  expect(release).toMatch(/^6\.1\.\d+$/);
  const memKiB = Number(await umlab.capture("sed -n 's/MemTotal: *\\([0-9]*\\).*/\\1/p' /proc/meminfo"));
  expect(memKiB).toBeGreaterThan(80 * 1024);
});
