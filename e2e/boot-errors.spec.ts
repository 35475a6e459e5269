// Bad input gets a clear message and no crash: missing images, a corrupted artifact, a missing emulator
// core, an unknown kernel.
import { COLD_BOOT_MS, expect, test, umlabPage } from "./fixtures.ts";

test("a missing images folder says how to build the images", async ({ page }) => {
  await page.route("**/images/manifest.json", (route) => route.fulfill({ status: 404, body: "images/out does not exist: run npm run images" }));
  await page.goto("/");
  const error = page.getByTestId("error-view");
  await expect(error).toBeVisible({ timeout: 30_000 });
  await expect(error).toContainText("npm run images");
});

for (const [mode, path] of [["restore", "/"], ["cold boot", "/?boot=cold"]] as const) {
  test(`a corrupted artifact is refused, naming the file (${mode})`, async ({ page }) => {
    test.setTimeout(COLD_BOOT_MS + 120_000);
    const umlab = umlabPage(page);
    const manifest = await umlab.manifest();
    // A restore reads the snapshot instead of the kernels; a cold boot reads the host kernel.
    const file = mode === "restore" ? manifest.snapshots?.lean?.file : manifest.artifacts.hostKernel.file;
    if (!file) throw new Error("the images have no lean snapshot");
    await page.route((url) => url.pathname === `/images/${file}`, async (route) => {
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
      await route.fulfill({ response, body });
    });
    await page.goto(path);
    const error = page.getByTestId("error-view");
    await expect(error).toBeVisible({ timeout: 60_000 });
    await expect(error).toContainText(file);
    await expect(error).toContainText(/sha256/i);
    expect(await page.evaluate(() => window.umlab?.bootError?.kind)).toBe("artifact-corrupt");
    // The corrupt copy was not kept: with the route gone, Retry boots.
    await page.unrouteAll();
    await page.getByTestId("retry").click();
    await umlab.waitForStage("ready", mode === "restore" ? 150_000 : COLD_BOOT_MS);
  });
}

test("an emulator core that cannot be fetched is an error with Retry, not a hang", async ({ page }) => {
  test.setTimeout(240_000);
  const umlab = umlabPage(page);
  // The worker fetches v86's wasm gzipped (vite.config.ts); v86 itself would wait forever on a failed load.
  await page.route((url) => url.pathname.endsWith("v86.wasm.gz"), (route) => route.fulfill({ status: 503, body: "unavailable" }));
  await page.goto("/");
  const error = page.getByTestId("error-view");
  await expect(error).toBeVisible({ timeout: 60_000 });
  await expect(error).toContainText("v86.wasm.gz");
  await expect(error).toContainText("503");
  await page.unrouteAll();
  await page.getByTestId("retry").click();
  await umlab.waitForStage("ready", 150_000);
});

test("an unknown kernel flavour is refused with the choices", async ({ page }) => {
  await page.goto("/?kernel=x86_64");
  const error = page.getByTestId("error-view");
  await expect(error).toBeVisible({ timeout: 30_000 });
  await expect(error).toContainText("x86_64");
  await expect(error).toContainText("lean");
});
