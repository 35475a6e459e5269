// UmlControl's state machine against a scripted host agent: which UML exits the page reports, and which
// it answers with a restart. The real host and UML run in cli/emulated-toolkit.test.ts and e2e/uml-*.
import { describe, expect, it, vi } from "vitest";
import type { Machine } from "./machine.ts";
import { encodeFrame, FrameType } from "./console-mux.ts";
import { UmlControl, type UmlStatus } from "./uml-control.ts";

interface Harness {
  control: UmlControl;
  requests: string[];
  states: UmlStatus["state"][];
  /** Settles the agent request made last with `reply` (an "error ..." reply rejects, as AgentChannel does). */
  answer(reply: string): void;
}

function harness(): Harness {
  const requests: string[] = [];
  const pending: Array<{ resolve(reply: string): void; reject(err: Error): void }> = [];
  const machine = {
    status: { umid: "umlab-1" },
    muxInput: () => undefined,
    // Where the agent leaves uml_mconsole's output.
    share: { read: async () => new TextEncoder().encode("OK \n") },
    agentRequest: (command: string) => {
      requests.push(command);
      return new Promise<string>((resolve, reject) => pending.push({ resolve, reject }));
    },
  } as unknown as Machine;
  const states: UmlStatus["state"][] = [];
  const control = new UmlControl(machine, {
    kernel: "lean",
    hostMemoryMiB: 256,
    onState: (status) => states.push(status.state),
    mux: { open: () => undefined, data: () => undefined, close: () => undefined },
  });
  control.onStage({ stage: "ready", at: 0 });
  return {
    control,
    requests,
    states,
    answer(reply) {
      const next = pending.shift();
      if (!next) throw new Error("no agent request is waiting");
      if (reply.startsWith("error")) next.reject(new Error(reply));
      else next.resolve(reply);
    },
  };
}

describe("UmlControl", () => {
  it("reports a halt as halted and a panic as crashed", () => {
    const h = harness();
    h.control.onUmlExited(0, undefined);
    expect(h.control.state.state).toBe("halted");
    h.control.onStage({ stage: "uml-kernel", at: 1 });
    h.control.onStage({ stage: "ready", at: 2 });
    h.control.onUmlExited(1, "Kernel panic - not syncing: sysrq triggered crash");
    expect(h.control.state).toMatchObject({ state: "crashed", exitStatus: 1, panic: expect.stringContaining("sysrq") });
  });

  it("does not report the exit of a UML that a restart shut down", async () => {
    const h = harness();
    const restarted = h.control.restart({ cmdline: "mem=96M" });
    await vi.waitFor(() => expect(h.requests.at(-1)).toBe("restart - lean mem=96M"));
    // The old UML was killed (137) before the agent answered: still booting, not crashed.
    h.control.onUmlExited(137, undefined);
    h.answer("ok restart");
    await restarted;
    expect(h.control.state.state).toBe("booting");
    h.control.onStage({ stage: "uml-kernel", at: 1 });
    h.control.onReady();
    expect(h.control.state.state).toBe("running");
    expect(h.states).not.toContain("crashed");
  });

  it("a failed restart rejects with the agent's reason, and later exits are reported again", async () => {
    const h = harness();
    const restarted = h.control.restart();
    await vi.waitFor(() => expect(h.requests).toHaveLength(1));
    h.answer("error restart: UML did not let go of its disk");
    await expect(restarted).rejects.toThrow(/did not let go of its disk/);
    h.control.onUmlExited(137, undefined);
    expect(h.control.state.state).toBe("crashed");
  });

  it("starts UML again when it exits instead of rebooting in place", async () => {
    const h = harness();
    const reboot = h.control.mconsole("reboot");
    await vi.waitFor(() => expect(h.requests).toEqual(["mconsole reboot"]));
    h.answer("ok mconsole 0");
    expect((await reboot).ok).toBe(true);
    expect(h.control.state.state).toBe("booting");
    h.control.onUmlExited(1, undefined);
    await vi.waitFor(() => expect(h.requests.at(-1)).toMatch(/^restart - lean mem=64M/));
    expect(h.control.state.state).toBe("booting");
    h.answer("ok restart");
    h.control.onStage({ stage: "uml-kernel", at: 1 });
    h.control.onReady();
    expect(h.states).not.toContain("crashed");
    expect(h.control.state.state).toBe("running");
  });

  it("a reboot that comes back by itself is not restarted, and a later exit is reported", async () => {
    const h = harness();
    const reboot = h.control.mconsole("cad");
    await vi.waitFor(() => expect(h.requests).toHaveLength(1));
    h.answer("ok mconsole 0");
    await reboot;
    h.control.onReady();
    h.control.onUmlExited(0, undefined);
    expect(h.control.state.state).toBe("halted");
    expect(h.requests).toHaveLength(1);
  });

  describe("instances", () => {
    const text = (t: string): Uint8Array => new TextEncoder().encode(t);

    it("follows an instance from its start through its console's ready marker to its exit", async () => {
      const h = harness();
      const started = h.control.startInstance();
      await vi.waitFor(() => expect(h.requests).toEqual(["instance-start 2 /opt/uml/lean/linux mem=48M quiet"]));
      h.control.onInstance({ kind: "started", n: 2, umid: "inst2-0a0b0c0d" });
      h.answer("ok instance-start 2 inst2-0a0b0c0d");
      expect(await started).toBe(2);
      expect(h.control.state.instances).toEqual([{ n: 2, name: "uml2", umid: "inst2-0a0b0c0d", state: "booting", tap: "tap2", mac: "52:54:00:12:35:02" }]);
      // Its con0 opens on the multiplexer; a console of the main UML does not belong to it.
      h.control.muxOutput(encodeFrame(FrameType.open, 7, text("Virtual Console #2 (uml-1234abcd)")));
      h.control.muxOutput(encodeFrame(FrameType.open, 8, text("Virtual Console #0 (inst2-0a0b0c0d)")));
      expect(h.control.state.instances[0]?.channel).toBe(8);
      // The shell's marker, split across two frames.
      h.control.muxOutput(encodeFrame(FrameType.data, 8, text("root@uml2:~# \x1b]6973;re")));
      expect(h.control.state.instances[0]?.state).toBe("booting");
      h.control.muxOutput(encodeFrame(FrameType.data, 8, text("ady\x07")));
      expect(h.control.state.instances[0]?.state).toBe("running");
      h.control.onInstance({ kind: "exited", n: 2, status: 0 });
      expect(h.control.state.instances[0]).toMatchObject({ state: "halted", exitStatus: 0 });
      expect(h.control.state.instances[0]?.channel).toBeUndefined();
    });

    it("sends mconsole commands to the instance's umid, and tracks stop and go", async () => {
      const h = harness();
      h.control.onInstance({ kind: "started", n: 3, umid: "inst3-00000000" });
      const stop = h.control.mconsole("stop", 3);
      await vi.waitFor(() => expect(h.requests).toEqual(["imconsole 3 stop"]));
      h.answer("ok mconsole 0");
      expect((await stop).ok).toBe(true);
      expect(h.control.state.instances[0]?.state).toBe("paused");
      expect(h.control.state.state).toBe("running");
      expect(await h.control.mconsole("version", 4)).toMatchObject({ ok: false, text: "Instance 4 is not running." });
    });

    it("refuses what the host cannot run, before asking it", async () => {
      const h = harness();
      h.control.onInstance({ kind: "started", n: 2, umid: "inst2-00000000" });
      h.control.onInstance({ kind: "started", n: 3, umid: "inst3-00000000" });
      // 256 MiB host: 96 for itself, 64 for the main UML, 48 for each instance.
      await expect(h.control.startInstance()).rejects.toThrow(/160 MiB for UML; the running UMLs use 160 MiB/);
      await expect(h.control.startInstance({ n: 3 })).rejects.toThrow(/Instance 3 is already running/);
      await expect(h.control.startInstance({ n: 9, mem: "16M" })).rejects.toThrow(/numbered 2 to 4/);
      await expect(h.control.startInstance({ n: 4, mem: "lots" })).rejects.toThrow(/`mem=lots` is not a memory size/);
      h.control.onUmlExited(0, undefined);
      await expect(h.control.startInstance({ n: 4, mem: "16M" })).rejects.toThrow(/UML is halted/);
      expect(h.requests).toEqual([]);
    });

    it("learns the running instances again after a restore", async () => {
      const h = harness();
      h.control.muxOutput(encodeFrame(FrameType.open, 4, text("Virtual Console #0 (inst4-12345678)")));
      h.control.afterRestore();
      await vi.waitFor(() => expect(h.requests).toContain("instances"));
      h.answer("ok instances 4:inst4-12345678");
      await vi.waitFor(() => expect(h.control.state.instances).toMatchObject([{ n: 4, umid: "inst4-12345678", state: "running", channel: 4 }]));
    });
  });
});
