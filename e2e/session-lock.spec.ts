// One writer per lab: a second tab of the same lab may open read-only, or take over once the first closes.
import { COLD_BOOT_MS, expect, test, umlabPage } from "./fixtures.ts";

test("a second tab gets the lock dialog, opens read-only, and takes over after the first closes", async ({ browser }) => {
  test.setTimeout(2 * COLD_BOOT_MS + 200_000);
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const first = await context.newPage();
  await first.goto("/");
  await umlabPage(first).waitForStage("ready", 150_000);
  expect(await first.evaluate(() => window.umlab?.persistence)).toBe("persistent");

  const second = await context.newPage();
  await second.goto("/");
  await expect(second.getByTestId("lock-dialog")).toBeVisible();
  await second.getByTestId("lock-readonly").click();
  const readOnly = umlabPage(second);
  // As for the takeover below, the disk may have left the snapshot's state, so this can be a cold boot,
  // beside a running emulator, so slower than usual.
  await readOnly.waitForStage("ready", COLD_BOOT_MS);
  expect(await second.evaluate(() => window.umlab?.persistence)).toBe("ephemeral");
  await expect(second.getByTestId("disk-status")).toHaveAttribute("data-mode", "ephemeral");
  // Writes in the read-only tab never reach the stored disk: no commit happens (and the takeover below
  // finds no trace of them).
  const generation = (await second.evaluate(() => window.umlab?.diskStatus()))?.generation;
  await readOnly.capture("echo scratch > /root/scratch && sync && echo ok");
  expect((await second.evaluate(() => window.umlab?.diskStatus()))?.generation).toBe(generation);

  const third = await context.newPage();
  await third.goto("/");
  await expect(third.getByTestId("lock-dialog")).toBeVisible();
  await third.getByTestId("lock-wait").click();
  await first.close();
  await second.close();
  const takeover = umlabPage(third);
  // The disk may have left the snapshot's state (the first tabs ran commands), so this can be a cold boot.
  await takeover.waitForStage("ready", COLD_BOOT_MS);
  expect(await third.evaluate(() => window.umlab?.persistence)).toBe("persistent");
  expect(await takeover.capture("ls /root | wc -l")).toBe("0");
  await context.close();
});
