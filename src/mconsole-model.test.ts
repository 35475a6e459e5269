import { describe, expect, it } from "vitest";
import { CommandHistory, configCommand, freeSlot, procCommand, removeCommand, stackCommand, SYSRQ_LETTERS, sysrqCommand, toggleCommand } from "./mconsole-model.ts";

describe("CommandHistory", () => {
  it("walks back with Up and forward with Down, returning to the draft", () => {
    const h = new CommandHistory();
    h.push("version");
    h.push("help");
    expect(h.up("sys")).toBe("help");
    expect(h.up("ignored")).toBe("version");
    expect(h.up("ignored")).toBeUndefined();
    expect(h.down()).toBe("help");
    expect(h.down()).toBe("sys");
    expect(h.down()).toBeUndefined();
  });
  it("skips blanks and repeats of the newest command", () => {
    const h = new CommandHistory();
    h.push("version");
    h.push("  version ");
    h.push("   ");
    expect(h.length).toBe(1);
  });
  it("starts from the draft again after a push", () => {
    const h = new CommandHistory();
    h.push("a");
    h.push("b");
    h.up("");
    h.push("c");
    expect(h.up("")).toBe("c");
  });
  it("keeps the newest hundred", () => {
    const h = new CommandHistory();
    for (let i = 0; i < 150; i++) h.push(`cmd ${i}`);
    expect(h.length).toBe(100);
  });
});

describe("quick commands", () => {
  it("build sysrq from a letter", () => {
    expect(sysrqCommand("s")).toEqual({ ok: true, command: "sysrq s" });
    expect(sysrqCommand("ss").ok).toBe(false);
    expect(new Set(SYSRQ_LETTERS.map((l) => l.letter)).size).toBe(SYSRQ_LETTERS.length);
  });
  it("build proc from a path under /proc", () => {
    expect(procCommand("meminfo")).toEqual({ ok: true, command: "proc meminfo" });
    expect(procCommand("/proc/1/status")).toEqual({ ok: true, command: "proc 1/status" });
    expect(procCommand("  ").ok).toBe(false);
    expect(procCommand("a b").ok).toBe(false);
    expect(procCommand("../etc/passwd").ok).toBe(false);
  });
  it("build stack from a pid", () => {
    expect(stackCommand(" 1 ")).toEqual({ ok: true, command: "stack 1" });
    expect(stackCommand("init").ok).toBe(false);
  });
  it("toggle stop and go by the phase", () => {
    expect(toggleCommand("running")).toBe("stop");
    expect(toggleCommand("paused")).toBe("go");
    expect(toggleCommand(undefined)).toBe("stop");
  });
});

describe("hot-plugged disks", () => {
  it("use the first free slot of ubd1..ubd7", () => {
    expect(freeSlot([])).toBe(1);
    expect(freeSlot([{ slot: 1, name: "a", hostPath: "/lab/disks/a" }, { slot: 3, name: "c", hostPath: "/lab/disks/c" }])).toBe(2);
    expect(freeSlot([1, 2, 3, 4, 5, 6, 7].map((slot) => ({ slot, name: "x", hostPath: "/x" })))).toBeUndefined();
  });
  it("build the config and remove commands", () => {
    expect(configCommand(2, "/lab/disks/data.img")).toBe("config ubd2=/lab/disks/data.img");
    expect(removeCommand(2)).toBe("remove ubd2");
  });
});
