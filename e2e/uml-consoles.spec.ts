// More consoles: "+ Console" hot-adds conN=xterm through mconsole; UML's xterm channel reaches the page
// through the host's console multiplexer as a new tab with a login shell, sized like its terminal.
import { expect, test, umlabPage } from "./fixtures.ts";

test("a new UML console opens in its own tab, resizes, splits and detaches", async ({ page }) => {
  test.setTimeout(240_000);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  await page.getByTestId("console-open").click();
  const tab = page.locator('[data-testid^="tab-console-"]').first();
  await expect(tab).toBeVisible({ timeout: 60_000 });
  const channel = Number((await tab.getAttribute("data-testid"))?.replace("tab-console-", ""));
  const read = (): Promise<string> => page.evaluate((c) => window.umlab?.readMuxConsole(c) ?? "", channel);
  await expect.poll(read, { timeout: 60_000 }).toMatch(/root@umlab:~#/);
  const title = (await page.evaluate(() => window.umlab?.consoleTabs() ?? []))[0]?.title ?? "";
  expect(title).toMatch(/Virtual Console #\d+/);

  // Its size is the terminal's: stty inside UML agrees with the fitted xterm.js size, after split and detach too.
  const sizeMatches = async (): Promise<boolean> => {
    const size = await page.evaluate((c) => window.umlab?.muxConsoleSize(c), channel);
    const tag = `S${Math.random().toString(36).slice(2, 7)}`;
    await page.evaluate(([c, t]) => window.umlab?.typeIntoMux(c, `echo ${t}:$(stty size)\r`), [channel, tag] as const);
    await expect.poll(read, { timeout: 30_000 }).toMatch(new RegExp(`${tag}:\\d+ \\d+`));
    const [, rows, cols] = new RegExp(`${tag}:(\\d+) (\\d+)`).exec(await read()) ?? [];
    return Number(rows) === size?.rows && Number(cols) === size?.cols;
  };
  await expect.poll(sizeMatches, { timeout: 60_000 }).toBe(true);
  await page.getByTestId("console-split").click();
  await expect.poll(sizeMatches, { timeout: 60_000 }).toBe(true);
  await page.getByTestId("console-detach").click();
  await expect(page.locator('[data-testid^="float-"]').first()).toBeVisible();
  await expect.poll(sizeMatches, { timeout: 60_000 }).toBe(true);
  // The UML console still answers while the new one is open.
  expect(await umlab.capture("echo con0-still-here")).toBe("con0-still-here");
});
