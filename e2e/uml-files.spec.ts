// hostfs in the tab: a file dropped on the page is readable in UML through the classic hostfs mount, and a
// file UML writes there downloads back out. UML's hostfs is confined to the share (hostfs=/lab).
import { readFileSync } from "node:fs";
import { expect, test, umlabPage } from "./fixtures.ts";

test("a dropped file is readable in UML through hostfs, and UML's file downloads back", async ({ page }) => {
  test.setTimeout(240_000);
  const umlab = umlabPage(page);
  await page.goto("/");
  await umlab.waitForStage("ready", 150_000);
  await page.getByTestId("tool-files").click();
  await expect(page.getByTestId("files-mount-command")).toHaveText("mount none /mnt/host -t hostfs -o /share");

  // A real drop: a DataTransfer with a File, dispatched as the browser would on drag and drop.
  const drop = await page.evaluateHandle(() => {
    const data = new DataTransfer();
    data.items.add(new File(["dropped into the tab\n"], "dropped.txt", { type: "text/plain" }));
    return data;
  });
  await page.getByTestId("files-panel").dispatchEvent("dragenter", { dataTransfer: drop });
  await page.getByTestId("files-panel").dispatchEvent("drop", { dataTransfer: drop });
  await expect(page.getByTestId("files-list")).toContainText("dropped.txt", { timeout: 30_000 });

  expect(await umlab.capture("mkdir -p /mnt/host && mount none /mnt/host -t hostfs -o /share && cat /mnt/host/dropped.txt")).toBe("dropped into the tab");
  // Confined: the hostfs root is the share, so even "/" is the page's folder, not the host's.
  expect(await umlab.capture("mkdir -p /mnt/root && mount none /mnt/root -t hostfs && echo $(ls /mnt/root)")).toMatch(/^(?=.*\bshare\b)(?!.*\bimages\b)/);
  expect(await umlab.capture("umount /mnt/root; echo umount=$?")).toBe("umount=0");

  expect(await umlab.capture("echo from UML > /mnt/host/from-uml.txt && sync && cat /mnt/host/from-uml.txt")).toBe("from UML");
  await page.getByTestId("files-refresh").click();
  const row = page.locator('[data-path="/share/from-uml.txt"]');
  await expect(row).toBeVisible({ timeout: 30_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), row.getByTestId("files-download").click()]);
  expect(download.suggestedFilename()).toBe("from-uml.txt");
  expect(readFileSync(await download.path(), "utf8")).toBe("from UML\n");
});
