// Typed fixtures for driving the umlab page: boot it, type into a console, wait for console text.
import { test as base, expect, type Page } from "@playwright/test";
import type { BootStage, ConsoleId, ImageManifest } from "../workers/api.ts";

export { expect };

export interface UmlabPage {
  page: Page;
  /** Polls until the page reports `stage`. */
  waitForStage(stage: BootStage, timeoutMs?: number): Promise<void>;
  /** Polls the console's text (scrollback included) until it matches. */
  waitForText(id: ConsoleId, pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Types a line and waits for `pattern` in the output that follows it. */
  run(id: ConsoleId, line: string, pattern: RegExp, timeoutMs?: number): Promise<string>;
  type(id: ConsoleId, text: string): Promise<void>;
  readConsole(id: ConsoleId): Promise<string>;
  manifest(): Promise<ImageManifest>;
}

export function umlabPage(page: Page): UmlabPage {
  const readConsole = (id: ConsoleId): Promise<string> => page.evaluate((c) => window.umlab?.readConsole(c) ?? "", id);
  const api: UmlabPage = {
    page,
    readConsole,
    async waitForStage(stage, timeoutMs = 120_000) {
      await expect
        .poll(() => page.evaluate(() => window.umlab?.stage), { timeout: timeoutMs, message: `waiting for boot stage "${stage}"` })
        .toBe(stage);
    },
    async waitForText(id, pattern, timeoutMs = 30_000) {
      let text = "";
      await expect
        .poll(async () => {
          text = await readConsole(id);
          return pattern.test(text);
        }, { timeout: timeoutMs, message: `waiting for ${pattern} on the ${id} console` })
        .toBe(true);
      return text;
    },
    async type(id, text) {
      await page.evaluate(([c, t]) => window.umlab?.typeInto(c, t), [id, text] as const);
    },
    async run(id, line, pattern, timeoutMs = 30_000) {
      const before = (await readConsole(id)).length;
      await api.type(id, `${line}\r`);
      let tail = "";
      await expect
        .poll(async () => {
          tail = (await readConsole(id)).slice(Math.max(0, before - 200));
          return pattern.test(tail);
        }, { timeout: timeoutMs, message: `waiting for ${pattern} after "${line}" on the ${id} console` })
        .toBe(true);
      return tail;
    },
    async manifest() {
      const response = await page.request.get("/images/manifest.json");
      expect(response.ok()).toBe(true);
      return (await response.json()) as ImageManifest;
    },
  };
  return api;
}

/** One booted page shared by the tests of a file: booting is the slow part. */
export const test = base.extend<object, { booted: UmlabPage }>({
  booted: [
    async ({ browser }, use) => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      await page.goto("/");
      const umlab = umlabPage(page);
      await umlab.waitForStage("ready");
      await use(umlab);
      await page.close();
    },
    { scope: "worker", timeout: 180_000 },
  ],
});
