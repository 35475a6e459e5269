// v86's JIT during a start: off while the kernels boot (or the snapshot restores), on with small modules once
// UML's prompt is up (workers/core/machine.ts, JIT_HELD_STAGES). Real v86, real kernels, in Node.
import { afterEach, describe, expect, it } from "vitest";
import type { BootStage } from "../workers/core/machine.ts";
import type { JitConfig } from "../workers/core/v86-internals.ts";
import { startEmulatedUml, type EmulatedUml } from "./emulated-uml.ts";

interface Seen {
  config: JitConfig | undefined;
  compiled: number | undefined;
}

describe("v86's JIT across a start", () => {
  let uml: EmulatedUml | undefined;
  afterEach(async () => {
    await uml?.stop();
    uml = undefined;
  });

  async function start(kind: "cold" | "snapshot"): Promise<Partial<Record<BootStage, Seen>>> {
    const seen: Partial<Record<BootStage, Seen>> = {};
    uml = await startEmulatedUml({ start: kind, onStage: (e, machine) => (seen[e.stage] = { config: machine.jitConfig, compiled: machine.jitModules }) });
    return seen;
  }

  it("boots the kernels in the interpreter, then compiles one-page modules", async () => {
    const seen = await start("cold");
    const held = { disabled: 1, maxPages: 1, maxExtraBasicBlocks: 10 };
    // Nothing compiled through the host's boot and UML's, however hot its loops got.
    expect(seen["host-kernel"]).toEqual({ config: held, compiled: 0 });
    expect(seen["uml-kernel"]).toEqual({ config: held, compiled: 0 });
    expect(seen.ready?.config).toEqual({ ...held, disabled: 0 });
    // On from the prompt on: a CPU loop in UML gets compiled.
    const before = uml?.machine.jitModules ?? 0;
    expect((await uml?.run("umlab-bench cpu 2000000"))?.status).toBe(0);
    expect(uml?.machine.jitModules).toBeGreaterThan(before);
    expect(uml?.machine.jitConfig?.disabled).toBe(0);
  }, 240_000);

  it("restores in the interpreter too", async () => {
    const seen = await start("snapshot");
    expect(seen.restore).toMatchObject({ config: { disabled: 1 }, compiled: 0 });
    expect(seen.ready?.config).toMatchObject({ disabled: 0, maxPages: 1 });
  }, 240_000);
});
