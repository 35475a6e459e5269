// The Switch panel's picture: host bridge br0 and its ports, from the worker's UML state.
import type { UmlInstance, UmlState } from "../workers/api.ts";

/** One port of the switch and what is plugged into it. */
export interface SwitchPort {
  key: string;
  /** The host device that is the port. */
  device: string;
  /** What is on the other side. */
  name: string;
  role: string;
  mac?: string;
  /** A UML's state as its badge shows it; absent for the network port. */
  state?: string;
  tone?: "busy" | "good" | "warn" | "bad";
  /** Instances only. */
  instance?: UmlInstance;
}

/** The main UML's port (its NIC as umlab-uml configures it). */
const MAIN = { device: "tap0", name: "umlab", mac: "52:54:00:12:34:56" };

export function switchPorts(state: UmlState | undefined): SwitchPort[] {
  const ports: SwitchPort[] = [
    { key: "eth0", device: "eth0", name: "lab network", role: "the worker's network: DHCP 10.0.2.x, gateway 10.0.2.2, the Internet through the page" },
    { key: "tap0", device: MAIN.device, name: MAIN.name, role: "main UML", mac: MAIN.mac, ...badge(state?.state, state?.exitStatus) },
  ];
  for (const instance of state?.instances ?? []) {
    ports.push({ key: instance.tap, device: instance.tap, name: instance.name, role: `instance ${instance.n}, umid ${instance.umid}`, mac: instance.mac, instance, ...badge(instance.state, instance.exitStatus) });
  }
  return ports;
}

/** Whether instance n can be started now (not already up). */
export function isUp(instance: UmlInstance): boolean {
  return instance.state === "booting" || instance.state === "running" || instance.state === "paused";
}

/** The next instance "Start instance" would start, or undefined when all of 2..4 are up. */
export function nextInstance(state: UmlState | undefined): number | undefined {
  const up = new Set((state?.instances ?? []).filter(isUp).map((i) => i.n));
  return [2, 3, 4].find((n) => !up.has(n));
}

function badge(state: string | undefined, exitStatus: number | undefined): { state: string; tone: SwitchPort["tone"] } {
  switch (state) {
    case "running":
      return { state, tone: "good" };
    case "booting":
      return { state, tone: "busy" };
    case "paused":
      return { state, tone: "warn" };
    case "crashed":
      return { state: exitStatus === undefined ? "crashed" : `crashed (exit ${exitStatus})`, tone: "bad" };
    case "halted":
      return { state, tone: "warn" };
    default:
      return { state: "not running", tone: "warn" };
  }
}
