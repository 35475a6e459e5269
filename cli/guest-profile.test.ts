import { describe, expect, it } from "vitest";
import { formatProfile, GuestSampler, summarize, SymbolMap, type GuestSample } from "./guest-profile.ts";
import type { V86CpuProbe } from "../workers/core/v86-internals.ts";

const HOST_MAP = SymbolMap.parse(["c1000000 T _text", "c1000000 T startup_32", "c1001000 t do_fork", "c1002000 D some_data", "c1003000 T sys_ptrace", "c1003800 W weak_fn"].join("\n"));
const UML_MAP = SymbolMap.parse(["08048000 T _start", "08050000 t userspace", "08060000 T handle_page_fault"].join("\n"));

describe("SymbolMap", () => {
  it("keeps text symbols only and finds the one containing an address", () => {
    expect(HOST_MAP.size).toBe(5);
    expect(HOST_MAP.lookup(0xc1000010)).toBe("startup_32");
    expect(HOST_MAP.lookup(0xc1001fff)).toBe("do_fork");
    // A data symbol is skipped: its range belongs to the text symbol before it.
    expect(HOST_MAP.lookup(0xc1002004)).toBe("do_fork");
    expect(HOST_MAP.lookup(0xc1003900)).toBe("weak_fn");
  });

  it("names nothing below the first symbol or beyond its reach", () => {
    expect(HOST_MAP.lookup(0xc0fff000)).toBeUndefined();
    expect(HOST_MAP.lookup(0xc1003800 + 0x10000)).toBeUndefined();
    expect(SymbolMap.parse("").lookup(0)).toBeUndefined();
  });
});

describe("summarize", () => {
  const umlCr3 = 0x45d5000;
  const childCr3 = 0x469e000;
  const samples: GuestSample[] = [
    { cpl: 0, cr3: 0, eip: 0x1540000, instructions: 100, ms: 1 },
    { cpl: 0, cr3: umlCr3, eip: 0xc1003010, instructions: 300, ms: 2 },
    { cpl: 3, cr3: umlCr3, eip: 0x08050010, instructions: 200, ms: 3 },
    { cpl: 3, cr3: umlCr3, eip: 0x08060010, instructions: 100, ms: 4 },
    { cpl: 0, cr3: childCr3, eip: 0xc1001010, instructions: 250, ms: 10 },
    { cpl: 3, cr3: childCr3, eip: 0x08049000, instructions: 50, ms: 0 },
  ];

  it("splits by place, taking the address space with the most user instructions as UML's kernel", () => {
    const r = summarize(samples, { host: HOST_MAP, uml: UML_MAP });
    expect(r.instructions).toBe(1000);
    expect(r.samples).toBe(6);
    expect(Object.fromEntries(r.byPlace.map((p) => [p.place, p.instructions]))).toEqual({
      boot: 100,
      "host kernel, for UML": 300,
      "UML kernel": 300,
      "host kernel, other": 250,
      "user programs": 50,
    });
  });

  it("names symbols with the map of the place they ran in, pages otherwise, largest first", () => {
    const r = summarize(samples, { host: HOST_MAP, uml: UML_MAP }, 3);
    expect(r.top).toEqual([
      { place: "host kernel, for UML", symbol: "sys_ptrace", instructions: 300, ms: 2 },
      { place: "host kernel, other", symbol: "do_fork", instructions: 250, ms: 10 },
      { place: "UML kernel", symbol: "userspace", instructions: 200, ms: 3 },
    ]);
    const unnamed = summarize(samples, {});
    expect(unnamed.top.find((t) => t.place === "user programs")?.symbol).toBe("page 8049000");
    expect(unnamed.top.find((t) => t.place === "boot")?.symbol).toBe("page 1540000");
  });

  it("formats shares and rates", () => {
    const text = formatProfile("test", summarize(samples, { host: HOST_MAP, uml: UML_MAP }, 2), 2000);
    expect(text).toContain("test: 0.0 M instructions in 2.00 s");
    expect(text).toMatch(/ 30\.0 %\s+host kernel, for UML\s+sys_ptrace/);
  });

  it("weighs by wall time on request: the shares, the order, and each one's instructions per second", () => {
    const r = summarize(samples, { host: HOST_MAP, uml: UML_MAP }, 2, "wall");
    expect(r).toMatchObject({ weight: "wall", instructions: 1000, ms: 20 });
    expect(r.byPlace.map((p) => [p.place, p.ms])).toEqual([
      ["host kernel, other", 10],
      ["UML kernel", 7],
      ["host kernel, for UML", 2],
      ["boot", 1],
      ["user programs", 0],
    ]);
    expect(r.top.map((t) => t.symbol)).toEqual(["do_fork", "handle_page_fault"]);
    const text = formatProfile("test", r, 2000);
    expect(text).toContain("shares of the 0.02 s between samples");
    // do_fork: 250 instructions in 10 ms, 0.025 M/s, half of the wall time.
    expect(text).toMatch(/ 50\.0 %\s+0\.0 M\/s\s+host kernel, other\s+do_fork/);
    expect(text).toMatch(/ 10\.0 %\s+0\.1 M\/s\s+host kernel, for UML$/m);
  });
});

describe("GuestSampler", () => {
  /** The CPU's fields as v86 lays them out: typed-array views the emulator writes. */
  interface TestCpu extends V86CpuProbe {
    calls: number;
    instruction_pointer: Int32Array;
    cr: Int32Array;
    cpl: Uint8Array;
    instruction_counter: Uint32Array;
  }
  function cpu(): TestCpu {
    const probe: TestCpu = {
      calls: 0,
      instruction_pointer: new Int32Array(1),
      cr: new Int32Array(8),
      cpl: new Uint8Array(1),
      instruction_counter: new Uint32Array(1),
      run_hardware_timers(): number {
        probe.calls++;
        return 7;
      },
    };
    return probe;
  }

  it("records where the CPU was at each timer call while started, with the instructions and time since the last", () => {
    const probe = cpu();
    const sampler = new GuestSampler();
    sampler.attach(probe);
    const tick = (counter: number, cpl: number, cr3: number, eip: number, now = 0): number => {
      probe.instruction_counter[0] = counter;
      probe.cpl[0] = cpl;
      probe.cr[3] = cr3;
      probe.instruction_pointer[0] = eip;
      return probe.run_hardware_timers(0, now);
    };
    expect(tick(1000, 0, 0x1000, 0xc1000000)).toBe(7); // not started: the hook only passes through
    sampler.start(1000);
    tick(101_000, 0, 0x1000, 0xc1001234, 1002.5);
    tick(201_500, 3, 0x2000, 0x08050000, 1010);
    // The counter wraps at 2^32.
    tick(100, 3, 0x2000, 0x08050004, 1011);
    const samples = sampler.stop();
    tick(500_000, 0, 0x1000, 0xc1000000, 2000);
    expect(probe.calls).toBe(5);
    expect(samples).toEqual([
      { cpl: 0, cr3: 0x1000, eip: 0xc1001234, instructions: 100_000, ms: 2.5 },
      { cpl: 3, cr3: 0x2000, eip: 0x08050000, instructions: 100_500, ms: 7.5 },
      { cpl: 3, cr3: 0x2000, eip: 0x08050004, instructions: 2 ** 32 - 201_500 + 100, ms: 1 },
    ]);
    // Kernel addresses above 2 GiB come out unsigned.
    probe.instruction_pointer[0] = 0xc1000000 | 0;
    sampler.start(3000);
    tick(600_000, 0, 0xc0000000 | 0, 0xc1000000 | 0, 3001);
    expect(sampler.stop()[0]).toMatchObject({ cr3: 0xc0000000, eip: 0xc1000000 });
  });

  it("attaches once", () => {
    const probe = cpu();
    const sampler = new GuestSampler();
    sampler.attach(probe);
    const hooked = probe.run_hardware_timers;
    sampler.attach(probe);
    expect(probe.run_hardware_timers).toBe(hooked);
    expect(sampler.attached).toBe(true);
  });
});
