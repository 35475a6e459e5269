// Suspend and resume: a saved session brings back RAM and disk, so a shell variable survives a reload.
import { expect, test, umlabPage } from "./fixtures.ts";

test("Save session, reload: the page resumes it with the shell's variable still set", async ({ browser }) => {
  test.setTimeout(300_000);
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  const value = `v${Date.now()}`;
  await umlab.run("uml", `export LAB_VAR=${value}; echo set-$LAB_VAR`, new RegExp(`set-${value}`));
  await umlab.capture("echo disk > /root/with-session && sync && echo ok");
  await page.getByTestId("save-session").click();
  await expect.poll(async () => (await page.evaluate(() => window.umlab?.listSessions()))?.length ?? 0, { timeout: 60_000 }).toBe(1);
  const [session] = (await page.evaluate(() => window.umlab?.listSessions())) ?? [];
  expect(session?.current).toBe(true);

  await page.reload();
  await umlab.waitForStage("ready", 60_000);
  expect(await page.evaluate(() => window.umlab?.startKind)).toBe("resume");
  // The worker read the session and restored it before the page asked.
  expect(await page.evaluate(() => window.umlab?.preparedEarly)).toBe(true);
  expect(await umlab.capture("echo $LAB_VAR")).toBe(value);
  expect(await umlab.capture("cat /root/with-session")).toBe("disk");
  // The session recorded the network's leases, so the new stack knows UML's address at once (no renewal).
  const address = await umlab.capture("ifconfig eth0 | sed -n 's/.*inet addr:\\([0-9.]*\\).*/\\1/p'");
  expect(address).toMatch(/^10\.0\.2\.\d+$/);
  expect((await page.evaluate(() => window.umlab?.network()))?.umlAddress).toBe(address);

  // Sessions can be listed and deleted from the page.
  await page.getByTestId("sessions").click();
  await expect(page.locator(`[data-session-id="${session?.id}"]`)).toBeVisible();
  await page.locator(`[data-session-id="${session?.id}"]`).getByTestId("session-delete").click();
  await expect.poll(async () => (await page.evaluate(() => window.umlab?.listSessions()))?.length ?? -1).toBe(0);
  await context.close();
});
