// Memory of a browser process tree, from /proc: resident set and proportional set (shared pages split).
import { readdir, readFile } from "node:fs/promises";

export interface ProcessMemory {
  pid: number;
  /** Chromium's --type= (renderer, gpu-process, utility, ...); "browser" for the main process. */
  type: string;
  rssBytes: number;
  pssBytes: number;
}

/** "VmRSS:  1234 kB" style field from a /proc status or smaps_rollup text, in bytes. */
export function procField(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m?.[1] ? Number(m[1]) * 1024 : 0;
}

async function children(): Promise<Map<number, number[]>> {
  const byParent = new Map<number, number[]>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // The command name is in parentheses and may hold spaces; the parent pid is the second field after it.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!Number.isFinite(ppid)) continue;
    byParent.set(ppid, [...(byParent.get(ppid) ?? []), Number(entry)]);
  }
  return byParent;
}

/** Every process in the tree under `rootPid`, the root included. */
async function processTreeMemory(rootPid: number): Promise<ProcessMemory[]> {
  const byParent = await children();
  const pids: number[] = [];
  const visit = (pid: number): void => {
    pids.push(pid);
    for (const child of byParent.get(pid) ?? []) visit(child);
  };
  visit(rootPid);
  const result: ProcessMemory[] = [];
  for (const pid of pids) {
    const [status, rollup, cmdline] = await Promise.all(
      ["status", "smaps_rollup", "cmdline"].map((f) => readFile(`/proc/${pid}/${f}`, "utf8").catch(() => "")),
    );
    if (!status) continue;
    const type = /--type=([\w-]+)/.exec(cmdline ?? "")?.[1] ?? (pid === rootPid ? "browser" : "other");
    result.push({ pid, type, rssBytes: procField(status, "VmRSS"), pssBytes: procField(rollup ?? "", "Pss") });
  }
  return result;
}

export interface BrowserMemory {
  /** The largest renderer: the tab under test, which also runs its dedicated worker. */
  tabRssBytes: number;
  totalRssBytes: number;
  totalPssBytes: number;
}

/** The Chromium processes this Node process launched (Playwright starts the browser as a direct child). */
export async function browserMemory(parent = process.pid): Promise<BrowserMemory> {
  const roots: number[] = [];
  for (const pid of (await children()).get(parent) ?? []) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (/chrom/i.test(cmdline.split("\0")[0] ?? "")) roots.push(pid);
  }
  if (roots.length === 0) throw new Error("no Chromium process found under this process");
  const all = (await Promise.all(roots.map((pid) => processTreeMemory(pid)))).flat();
  const renderers = all.filter((p) => p.type === "renderer");
  return {
    tabRssBytes: Math.max(0, ...renderers.map((p) => p.rssBytes)),
    totalRssBytes: all.reduce((a, p) => a + p.rssBytes, 0),
    totalPssBytes: all.reduce((a, p) => a + p.pssBytes, 0),
  };
}
