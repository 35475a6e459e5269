import { describe, expect, it } from "vitest";
import type { UmlState } from "../workers/api.ts";
import { endedReport, umlBadge, umlPhase } from "./uml-status.ts";

const state = (over: Partial<UmlState>): UmlState => ({ state: "running", kernel: "lean", cmdline: "mem=64M", instances: [], ...over });

describe("umlPhase", () => {
  it("prefers the worker's report", () => {
    expect(umlPhase(state({ state: "paused" }), "ready")).toBe("paused");
    expect(umlPhase(state({ state: "crashed" }), "ready")).toBe("crashed");
  });
  it("reads the boot stage until the worker reports", () => {
    expect(umlPhase(undefined, "idle")).toBeUndefined();
    expect(umlPhase(undefined, "error")).toBeUndefined();
    expect(umlPhase(undefined, "download")).toBe("booting");
    expect(umlPhase(undefined, "uml-kernel")).toBe("booting");
    expect(umlPhase(undefined, "ready")).toBe("running");
    expect(umlPhase(undefined, "halted")).toBe("halted");
  });
});

describe("umlBadge", () => {
  it("names every phase with a tone", () => {
    expect(umlBadge(undefined, undefined)).toMatchObject({ text: "UML: off", tone: "muted" });
    expect(umlBadge("booting", undefined).tone).toBe("busy");
    expect(umlBadge("running", undefined).tone).toBe("good");
    expect(umlBadge("paused", undefined).text).toBe("UML: paused");
    expect(umlBadge("crashed", undefined).tone).toBe("bad");
  });
  it("mentions the kernel and umid when known", () => {
    expect(umlBadge("running", state({ umid: "uml-1", kernel: "upload:my" })).title).toContain("kernel upload:my, umid uml-1");
  });
});

describe("endedReport", () => {
  it("is nothing while UML lives", () => {
    expect(endedReport("running", state({}))).toBeUndefined();
    expect(endedReport("paused", state({ state: "paused" }))).toBeUndefined();
    expect(endedReport(undefined, undefined)).toBeUndefined();
  });
  it("gives the exit status and the panic verbatim", () => {
    const panic = "Kernel panic - not syncing: VFS: Unable to mount root fs\n  CPU: 0 PID: 1";
    expect(endedReport("crashed", state({ state: "crashed", exitStatus: 134, panic }))).toEqual({ title: "UML crashed", detail: "exit status 134", panic });
    expect(endedReport("halted", state({ state: "halted", exitStatus: 0, panic: "" }))).toEqual({ title: "UML halted", detail: "exit status 0", panic: undefined });
  });
  it("falls back to the boot's notice without a worker report", () => {
    expect(endedReport("halted", undefined, "UML exited with status 0")).toEqual({ title: "UML halted", detail: "UML exited with status 0", panic: undefined });
  });
});
