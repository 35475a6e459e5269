// mconsole in the tab: the UML panel drives the real uml_mconsole on the host. Every command, a ubd disk
// hot-added from a file picked in the page (UML mounts it), stop/go, and crashes followed by a restart
// without a page reload.
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "@playwright/test";
import { COLD_BOOT_MS, expect, test, umlabPage } from "./fixtures.ts";

/** Runs `command` in the panel's command line and returns the reply shown for it. */
async function mconsole(page: Page, command: string): Promise<{ state: string; reply: string }> {
  const entries = page.getByTestId("mconsole-entry");
  const before = await entries.count();
  await page.getByTestId("mconsole-input").fill(command);
  await page.getByTestId("mconsole-input").press("Enter");
  return lastReply(page, before);
}

/** Waits for the entry after the first `before` ones to settle; its state and reply text. */
async function lastReply(page: Page, before: number): Promise<{ state: string; reply: string }> {
  const entry = page.getByTestId("mconsole-entry").nth(before);
  await expect(entry).not.toHaveAttribute("data-state", "pending", { timeout: 60_000 });
  // An empty reply (UML's "OK " alone) has no reply element.
  return { state: (await entry.getAttribute("data-state")) ?? "", reply: (await entry.getByTestId("mconsole-reply").allTextContents()).join("\n") };
}

async function umlState(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => (await window.umlab?.umlState())?.state);
}

test("the mconsole panel runs version, help, proc, stack, sysrq and config, and hot-adds a disk UML mounts", async ({ page }) => {
  test.setTimeout(COLD_BOOT_MS);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  const manifest = await umlab.manifest();
  await page.getByTestId("tool-mconsole").click();

  // The quick buttons.
  let count = await page.getByTestId("mconsole-entry").count();
  await page.getByTestId("mconsole-version").click();
  expect(await lastReply(page, count)).toEqual({ state: "ok", reply: expect.stringContaining(manifest.kernels.lean.release) });
  count++;
  await page.getByTestId("mconsole-help").click();
  expect((await lastReply(page, count)).reply).toMatch(/sysrq/);
  count++;
  await page.getByTestId("mconsole-proc-file").fill("meminfo");
  await page.getByTestId("mconsole-proc").click();
  expect((await lastReply(page, count)).reply).toMatch(/MemTotal:/);
  count++;
  await page.getByTestId("mconsole-stack-pid").fill("1");
  await page.getByTestId("mconsole-stack").click();
  expect((await lastReply(page, count)).state).toBe("ok");
  count++;
  await page.getByTestId("mconsole-sysrq-letter").selectOption("m");
  await page.getByTestId("mconsole-sysrq").click();
  expect((await lastReply(page, count)).reply).toMatch(/Show Memory/);

  // Typed commands, and UML's own errors shown verbatim.
  expect(await mconsole(page, "config con0")).toEqual({ state: "ok", reply: expect.stringContaining("fd:0,fd:1") });
  expect(await mconsole(page, "remove ubd5")).toEqual({ state: "error", reply: expect.stringContaining("Device doesn't exist") });

  // Hot-add: an ext2 image picked in the page lands in the share and becomes ubd1.
  const dir = mkdtempSync(path.join(tmpdir(), "umlab-e2e-disk-"));
  mkdirSync(path.join(dir, "content"));
  writeFileSync(path.join(dir, "content", "inside.txt"), "on the hot-added disk\n");
  execFileSync("mke2fs", ["-q", "-F", "-t", "ext2", "-d", path.join(dir, "content"), path.join(dir, "data.img"), "4M"]);
  await page.getByTestId("mconsole-disk-file").setInputFiles(path.join(dir, "data.img"));
  await expect(page.getByTestId("hot-disk-1")).toBeVisible({ timeout: 60_000 });
  expect(await umlab.capture("mkdir -p /mnt/d && mount /dev/ubdb /mnt/d && cat /mnt/d/inside.txt")).toBe("on the hot-added disk");
  // Busy: UML's error is shown and the disk stays listed.
  await page.getByTestId("hot-disk-remove-1").click();
  await expect(page.getByTestId("hot-disk-1")).toContainText("Device is currently open", { timeout: 60_000 });
  expect(await umlab.capture("umount /mnt/d; echo umount=$?")).toBe("umount=0");
  await page.getByTestId("hot-disk-remove-1").click();
  await expect(page.getByTestId("hot-disk-1")).toHaveCount(0, { timeout: 60_000 });
  expect(await umlab.capture("test -b /dev/ubdb; echo $?")).toBe("1");
});

test("stop pauses UML until go; halt, cad, reboot and a sysrq crash each end in a running UML without a reload", async ({ page }) => {
  test.setTimeout(3 * COLD_BOOT_MS);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  // Survives as long as the page is not reloaded.
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = "same page"));
  await page.getByTestId("tool-mconsole").click();

  await page.getByTestId("mconsole-toggle").click();
  await expect(page.getByTestId("uml-state")).toHaveAttribute("data-state", "paused");
  await expect(page.getByTestId("uml-paused-uml")).toBeVisible();
  await umlab.type("uml", "echo resumed-$((6*7))\r");
  // Paused: nothing answers. Absence needs a bound; 2 s is many times a running UML's echo latency.
  await page.waitForTimeout(2000);
  expect(await umlab.readConsole("uml")).not.toMatch(/resumed-42/);
  await page.getByTestId("mconsole-toggle").click();
  await expect(page.getByTestId("uml-state")).toHaveAttribute("data-state", "running");
  await umlab.waitForText("uml", /resumed-42/);

  // cad and reboot: UML comes back to its shell (inside v86 its in-place reboot stalls, and umlab restarts
  // it after 30 s; docs/uml-in-the-browser.md).
  for (const command of ["cad", "reboot"] as const) {
    await page.getByTestId(`mconsole-${command}`).click();
    await expect.poll(() => umlState(page), { timeout: 30_000 }).toBe("booting");
    await expect.poll(() => umlState(page), { timeout: COLD_BOOT_MS }).toBe("running");
    expect(await umlab.capture(`echo back-after-${command}`)).toBe(`back-after-${command}`);
  }

  // halt: UML exits with status 0; Restart UML starts it again.
  await page.getByTestId("mconsole-halt").click();
  await expect(page.getByTestId("uml-state")).toHaveAttribute("data-state", "halted", { timeout: 60_000 });
  await expect(page.getByTestId("uml-ended")).toBeVisible();
  await page.getByTestId("uml-restart").click();
  await expect.poll(() => umlState(page), { timeout: COLD_BOOT_MS }).toBe("running");
  expect(await umlab.capture("echo back-after-halt")).toBe("back-after-halt");

  // A kernel panic: the panel shows UML's panic text; the host and the page carry on.
  await umlab.type("uml", "echo c > /proc/sysrq-trigger\r");
  await expect(page.getByTestId("uml-state")).toHaveAttribute("data-state", "crashed", { timeout: 60_000 });
  await expect(page.getByTestId("uml-panic")).toContainText("Kernel panic - not syncing: sysrq triggered crash");
  await umlab.run("host", "echo host-still-$((40+2))", /host-still-42/);
  await page.getByTestId("uml-restart").click();
  await expect.poll(() => umlState(page), { timeout: COLD_BOOT_MS }).toBe("running");
  expect(await umlab.capture("echo back-after-crash")).toBe("back-after-crash");
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe("same page");
});
