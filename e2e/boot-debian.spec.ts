// The second, selectable UML kernel: Debian's stock user-mode-linux:i386.
import { expect, test, umlabPage } from "./fixtures.ts";

test("?kernel=debian boots Debian's UML kernel", async ({ page }) => {
  const umlab = umlabPage(page);
  const manifest = await umlab.manifest();
  await page.goto("/?kernel=debian");
  await umlab.waitForStage("ready", 150_000);
  await expect(page.getByTestId("kernel-select")).toHaveValue("debian");
  const out = await umlab.run("uml", "uname -r", /\n\d+\.\d+\.\d+\S*\r?\n/);
  expect(out).toContain(manifest.kernels.debian.release);
  expect(out).not.toContain(manifest.kernels.lean.release);
});
