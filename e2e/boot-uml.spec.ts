// The foundation slice: the page boots the real UML kernel and both consoles answer.
import { expect, test } from "./fixtures.ts";

test.describe.configure({ mode: "serial" });
// These tests are about booting: a cold boot, not the snapshot restore that is the default.
test.use({ bootPath: "/?boot=cold" });

test("the page boots to a UML shell with every stage reported", async ({ booted }) => {
  const { page } = booted;
  await expect(page.getByTestId("stage-list")).toBeVisible();
  for (const stage of ["download", "bios", "uml-kernel", "ready"]) {
    await expect(page.locator(`[data-stage="${stage}"]`)).toHaveAttribute("data-state", "done");
  }
  await booted.waitForText("uml", /root@umlab:~# $/m);
  await expect(page.getByTestId("error-view")).toHaveCount(0);
  // The lean UML has no vmalloc'd stacks, so the host's boot watchdog never has a wedge to restart (docs/boot.md).
  expect(await page.evaluate(() => window.umlab?.readConsole("uml") ?? "")).not.toContain("UML wedged during boot");
});

test("uname -a in the UML console shows i686 and the UML kernel's release", async ({ booted }) => {
  const manifest = await booted.manifest();
  const out = await booted.run("uml", "uname -a", /Linux umlab \S+ .*i686/);
  expect(out).toContain(manifest.kernels.lean.release);
});

test("con0 is root's login shell on its controlling tty: a Ctrl-C typed in the terminal stops a command", async ({ booted }) => {
  // init starts the shell itself (no getty or login); /etc/profile gives it what login did.
  expect(await booted.capture("echo $HOME $LOGNAME $TERM ${hostfs-none}; pwd")).toBe("/root root linux none\n/root");
  // S1 is printed by the shell once sleep is about to run, so the key reaches a tty in cooked mode.
  await booted.run("uml", "echo S$((0+1)); sleep 600", /\nS1\n/);
  await booted.page.locator("#term-uml .xterm-helper-textarea").focus();
  await booted.page.keyboard.press("Control+c");
  // Only a SIGINT from the tty ends sleep before the 30 s wait is over.
  await booted.waitForText("uml", /\nS1\n\^C\n?\r?root@umlab:~# $/m);
  expect(await booted.capture("echo back")).toBe("back");
});

test("/proc/filesystems in UML lists hostfs", async ({ booted }) => {
  await booted.run("uml", "grep -c hostfs /proc/filesystems; cat /proc/filesystems", /nodev\s+hostfs/);
});

test("ps on the host console lists UML's processes as host processes", async ({ booted }) => {
  await booted.page.getByTestId("tab-host").click();
  // The end marker is computed by the shell, so the echoed command line cannot match it: wait for all of ps's lines.
  const out = await booted.run("host", "ps -o pid,comm,args | grep [l]inux; echo ps-end-$((6*7))", /\d+ linux\s+\/opt\/uml\/lean\/linux umid=uml-[^]*\nps-end-42/);
  // UML's kernel thread, its helpers and every UML user process are separate host processes.
  expect(out.split("\n").filter((l) => /\d+ linux\s+\/opt\/uml/.test(l)).length).toBeGreaterThanOrEqual(3);
  await booted.page.getByTestId("tab-uml").click();
});

test("stty size inside UML follows the terminal size", async ({ booted }) => {
  const { page } = booted;
  const sizeOf = async (): Promise<string> => {
    const size = await page.evaluate(() => window.umlab?.consoleSize("uml"));
    return size ? `${size.rows} ${size.cols}` : "";
  };
  let previous = await sizeOf();
  for (const viewport of [{ width: 1000, height: 600 }, { width: 1400, height: 900 }]) {
    await page.setViewportSize(viewport);
    // The terminal refits after a debounce: wait for a new size that then holds still.
    let seen = previous;
    await expect
      .poll(async () => {
        const now = await sizeOf();
        const settled = now !== previous && now === seen;
        seen = now;
        return settled;
      }, { intervals: [250], message: "the terminal should refit to the new viewport" })
      .toBe(true);
    const want = seen;
    previous = want;
    // The size travels page → worker → virtio → host tty → UML asynchronously: ask until it lands.
    await expect
      .poll(async () => {
        const out = await booted.run("uml", "stty size", /\n\d+ \d+\n/);
        return [...out.matchAll(/\n(\d+ \d+)\n/g)].at(-1)?.[1];
      }, { timeout: 30_000, message: `stty size should become "${want}"` })
      .toBe(want);
  }
});
