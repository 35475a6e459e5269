import { describe, expect, it } from "vitest";
import type { UmlInstance, UmlState } from "../workers/api.ts";
import { nextInstance, switchPorts } from "./instances-model.ts";

const instance = (n: number, state: UmlInstance["state"], over: Partial<UmlInstance> = {}): UmlInstance => ({ n, name: `uml${n}`, umid: `inst${n}-00000000`, state, tap: `tap${n}`, mac: `52:54:00:12:35:0${n}`, ...over });
const uml = (instances: UmlInstance[], over: Partial<UmlState> = {}): UmlState => ({ state: "running", kernel: "lean", cmdline: "mem=64M", instances, ...over });

describe("switchPorts", () => {
  it("lists the network, the main UML and each instance, in order", () => {
    const ports = switchPorts(uml([instance(2, "running"), instance(3, "crashed", { exitStatus: 137 })]));
    expect(ports.map((p) => [p.device, p.name, p.state])).toEqual([
      ["eth0", "lab network", undefined],
      ["tap0", "umlab", "running"],
      ["tap2", "uml2", "running"],
      ["tap3", "uml3", "crashed (exit 137)"],
    ]);
    expect(ports[3]?.tone).toBe("bad");
    expect(ports[2]?.mac).toBe("52:54:00:12:35:02");
  });

  it("shows the main UML as not running before the worker reports", () => {
    expect(switchPorts(undefined)[1]).toMatchObject({ state: "not running", tone: "warn" });
  });
});

describe("nextInstance", () => {
  it("is the lowest instance not up, and none when all three are", () => {
    expect(nextInstance(undefined)).toBe(2);
    expect(nextInstance(uml([instance(2, "running"), instance(3, "halted")]))).toBe(3);
    expect(nextInstance(uml([instance(2, "booting"), instance(3, "paused"), instance(4, "running")]))).toBeUndefined();
  });
});
