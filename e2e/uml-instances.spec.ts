// Several UMLs on one virtual switch, in the tab: the Switch panel starts UML instance uml2 beside the main
// UML; it gets its own console tab, the two ping each other and the main UML fetches a page from uml2's
// httpd; mconsole talks to uml2 by its umid; Stop halts it. A saved session brings a running instance back,
// and what an instance synced is in IndexedDB block by block: it survives killing the browser.
import type { Page } from "@playwright/test";
import type { UmlInstance } from "../workers/api.ts";
import { COLD_BOOT_MS, expect, test, umlabPage, withProfile } from "./fixtures.ts";

async function instance(page: Page, n: number): Promise<UmlInstance | undefined> {
  return page.evaluate(async (k) => (await window.umlab?.instances())?.find((i) => i.n === k), n);
}

/**
 * Runs `command` in instance n's console tab and returns its output: like the fixture's capture, between
 * markers the shell prints (never the typed line), found anywhere in the tab's buffer.
 */
async function inInstance(page: Page, n: number, command: string, timeoutMs = 60_000): Promise<string> {
  const channel = (await instance(page, n))?.channel;
  if (channel === undefined) throw new Error(`instance ${n} has no console`);
  const tag = `I${Math.random().toString(36).slice(2, 8)}`;
  const pattern = new RegExp(`${tag}:\\n([^]*?)\\n:${tag}`);
  await page.evaluate(([c, t]) => window.umlab?.typeIntoMux(c, t), [channel, `echo ${tag}$(printf :); ${command}; echo $(printf :)${tag}\r`] as const);
  let text = "";
  await expect
    .poll(async () => {
      text = await page.evaluate((c) => window.umlab?.readMuxConsole(c) ?? "", channel);
      return pattern.test(text);
    }, { timeout: timeoutMs, message: `waiting for the output of "${command}" on uml${n}'s console` })
    .toBe(true);
  return (pattern.exec(text)?.[1] ?? "").trim();
}

async function addressOf(page: Page, n: number): Promise<string> {
  const out = await inInstance(page, n, "ip -4 -o addr show eth0");
  return /inet (10\.0\.2\.\d+)/.exec(out)?.[1] ?? "";
}

test("the Switch panel starts uml2 on the main UML's switch: ping both ways, wget its httpd, mconsole, Stop", async ({ page }) => {
  test.setTimeout(480_000);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  await page.getByTestId("tool-switch").click();
  await expect(page.getByTestId("port-tap0")).toContainText("running");
  await page.getByTestId("instance-start").click();
  await expect(page.getByTestId("instance-2")).toHaveAttribute("data-state", "running", { timeout: 240_000 });
  await expect(page.getByTestId("instance-2")).toContainText("52:54:00:12:35:02");
  // Its console is a tab of its own, with a shell on the instance.
  await page.getByTestId("instance-console-2").click();
  const two = await instance(page, 2);
  await expect.poll(async () => (await page.evaluate(() => window.umlab?.consoleTabs() ?? [])).map((t) => t.title)).toContainEqual(`Virtual Console #0 (${two?.umid ?? "?"})`);
  expect(await inInstance(page, 2, "hostname")).toBe("uml2");

  const address = await addressOf(page, 2);
  const main = /inet (10\.0\.2\.\d+)/.exec(await umlab.capture("ip -4 -o addr show eth0"))?.[1] ?? "";
  expect(main).not.toBe("");
  expect(address).not.toBe(main);
  expect(await inInstance(page, 2, "mkdir -p /srv/www && echo served-by-$(hostname) > /srv/www/index.html && httpd -p 80 -h /srv/www; echo httpd=$?")).toBe("httpd=0");
  expect(await umlab.capture(`ping -c 3 -W 5 ${address} | grep transmitted`, 60_000)).toContain("3 packets received");
  expect(await umlab.capture(`wget -q -O - http://${address}/index.html`, 60_000)).toBe("served-by-uml2");
  expect(await inInstance(page, 2, `ping -c 2 -W 5 ${main} >/dev/null; echo ping=$?`)).toBe("ping=0");

  // mconsole's target: uml2's own kernel answers, by its umid (version carries its nodename); same kernel as main.
  const release = await umlab.capture("uname -r");
  await page.getByTestId("tool-mconsole").click();
  await page.getByTestId("mconsole-target").selectOption("2");
  const entries = page.getByTestId("mconsole-entry");
  const versioned = await entries.count();
  await page.getByTestId("mconsole-version").click();
  await expect(entries.nth(versioned)).toHaveAttribute("data-state", "ok", { timeout: 60_000 });
  await expect(entries.nth(versioned)).toHaveAttribute("data-target", "uml2");
  await expect(entries.nth(versioned).getByTestId("mconsole-reply")).toContainText(release);
  await expect(entries.nth(versioned).getByTestId("mconsole-reply")).toContainText("uml2");
  const before = await entries.count();
  await page.getByTestId("mconsole-input").fill("config con0");
  await page.getByTestId("mconsole-input").press("Enter");
  await expect(entries.nth(before)).toHaveAttribute("data-state", "ok", { timeout: 60_000 });
  await expect(entries.nth(before)).toHaveAttribute("data-target", "uml2");
  await expect(entries.nth(before).getByTestId("mconsole-reply")).toHaveText("xterm");

  // Stop halts it; the main UML carries on.
  await page.getByTestId("tool-switch").click();
  await page.getByTestId("instance-stop-2").click();
  await expect(page.getByTestId("instance-2")).toHaveAttribute("data-state", "halted", { timeout: 60_000 });
  await expect(page.getByTestId("instance-start-2")).toBeEnabled();
  expect(await umlab.capture("echo main-still-here")).toBe("main-still-here");
});

test("a saved session brings a running instance back, with what it wrote", async ({ browser }) => {
  test.setTimeout(480_000);
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  expect(await page.evaluate(() => window.umlab?.startInstance())).toBe(2);
  await expect.poll(async () => (await instance(page, 2))?.state, { timeout: 240_000 }).toBe("running");
  expect(await inInstance(page, 2, "echo kept-in-session > /root/kept; echo wrote=$?")).toBe("wrote=0");
  await page.getByTestId("save-session").click();
  await expect.poll(async () => (await page.evaluate(() => window.umlab?.listSessions()))?.length ?? 0, { timeout: 60_000 }).toBe(1);

  await page.reload();
  await umlab.waitForStage("ready", 60_000);
  expect(await page.evaluate(() => window.umlab?.startKind)).toBe("resume");
  await expect.poll(async () => (await instance(page, 2))?.state, { timeout: 30_000 }).toBe("running");
  await expect.poll(async () => (await instance(page, 2))?.channel, { timeout: 30_000 }).toBeDefined();
  expect(await inInstance(page, 2, "cat /root/kept")).toBe("kept-in-session");
  await context.close();
});

test("what an instance synced is stored block by block: it survives killing the browser", async () => {
  test.setTimeout(COLD_BOOT_MS + 600_000);
  await withProfile(async (profile) => {
    let page = await (await profile.open()).newPage();
    let umlab = umlabPage(page);
    await page.goto("/");
    await umlab.waitForStage("ready", 150_000);
    expect(await page.evaluate(() => window.umlab?.startInstance())).toBe(2);
    await expect.poll(async () => (await instance(page, 2))?.state, { timeout: 240_000 }).toBe("running");
    const sum = await inInstance(page, 2, "dd if=/dev/urandom of=/root/stored.bin bs=4096 count=32 2>/dev/null && sync && sha256sum /root/stored.bin | cut -c1-64");
    expect(sum).toMatch(/^[0-9a-f]{64}$/);
    // No session, no clean unload: the browser dies right after sync returned.
    await profile.kill();

    page = await (await profile.open()).newPage();
    umlab = umlabPage(page);
    // A cold boot from the lab's stored disk, whatever sessions exist.
    await page.goto("/?boot=cold");
    await umlab.waitForStage("ready", COLD_BOOT_MS);
    expect(await page.evaluate(() => window.umlab?.startKind)).toBe("cold");
    expect(await page.evaluate(() => window.umlab?.startInstance({ n: 2 }))).toBe(2);
    await expect.poll(async () => (await instance(page, 2))?.state, { timeout: 240_000 }).toBe("running");
    expect(await inInstance(page, 2, "sha256sum /root/stored.bin | cut -c1-64")).toBe(sum);
    // The main UML's disk is its own: the instance's file is not in it.
    expect(await umlab.capture("ls /root/stored.bin 2>&1 | grep -c 'No such file'")).toBe("1");
  });
});
