// A guest profiler: where the emulated CPU spends its instructions, or its wall time. v86's main loop calls
// run_hardware_timers after every batch of about 100,000 instructions (and while halted); the sampler
// records the privilege level, address space (CR3) and instruction pointer there, with the instructions and
// the wall time since the last sample. Symbol maps from the image build (host-kernel.map, uml-lean.map)
// name the addresses.
import type { V86CpuProbe } from "../workers/core/v86-internals.ts";

export interface GuestSample {
  cpl: number;
  cr3: number;
  eip: number;
  /** Instructions executed since the previous sample. */
  instructions: number;
  /** Wall milliseconds since the previous sample, by v86's clock: cold code runs far slower per instruction. */
  ms: number;
}

/** What a report's shares measure. */
export type ProfileWeight = "instructions" | "wall";

/** Records samples from a CPU while started; attach once, start and stop around what to measure. */
export class GuestSampler {
  private samples: GuestSample[] = [];
  private running = false;
  private last = 0;
  private lastNow = 0;
  private probe: V86CpuProbe | undefined;

  /** Wraps the CPU's timer hook; later calls are ignored. */
  attach(probe: V86CpuProbe): void {
    if (this.probe) return;
    this.probe = probe;
    this.last = probe.instruction_counter[0] ?? 0;
    const timers = probe.run_hardware_timers.bind(probe);
    probe.run_hardware_timers = (acpiEnabled, now) => {
      if (this.running) this.record(probe, now);
      return timers(acpiEnabled, now);
    };
  }

  get attached(): boolean {
    return this.probe !== undefined;
  }

  /** The CPU's instruction counter (it wraps at 2^32). */
  private get instructionCounter(): number {
    return this.probe?.instruction_counter[0] ?? 0;
  }

  /** `now` is v86's clock (performance.now() in browsers and Node). */
  start(now = performance.now()): void {
    this.samples = [];
    this.last = this.instructionCounter;
    this.lastNow = now;
    this.running = true;
  }

  stop(): GuestSample[] {
    this.running = false;
    return this.samples;
  }

  private record(probe: V86CpuProbe, now: number): void {
    const counter = probe.instruction_counter[0] ?? 0;
    this.samples.push({ cpl: probe.cpl[0] ?? 0, cr3: (probe.cr[3] ?? 0) >>> 0, eip: (probe.instruction_pointer[0] ?? 0) >>> 0, instructions: (counter - this.last) >>> 0, ms: Math.max(0, now - this.lastNow) });
    this.last = counter;
    this.lastNow = now;
  }
}

/** Text symbols from `nm -n` or System.map output ("c1000000 T startup_32"), looked up by address. */
export class SymbolMap {
  private constructor(
    private readonly addresses: Uint32Array,
    private readonly names: string[],
  ) {}

  static parse(text: string): SymbolMap {
    const entries: [number, string][] = [];
    for (const line of text.split("\n")) {
      const m = /^([0-9a-fA-F]{8})\s+([tTwW])\s+(\S+)/.exec(line);
      if (m?.[1] && m[3]) entries.push([parseInt(m[1], 16), m[3]]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    return new SymbolMap(Uint32Array.from(entries, (e) => e[0]), entries.map((e) => e[1]));
  }

  get size(): number {
    return this.names.length;
  }

  /** The symbol that contains `address`: the nearest one at or below it, within `reach` bytes. */
  lookup(address: number, reach = 0x10000): string | undefined {
    let lo = 0;
    let hi = this.addresses.length - 1;
    if (hi < 0 || address < (this.addresses[0] ?? 0)) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.addresses[mid] ?? 0) <= address) lo = mid;
      else hi = mid - 1;
    }
    return address - (this.addresses[lo] ?? 0) < reach ? this.names[lo] : undefined;
  }
}

/** Where an instruction ran. */
export type GuestPlace =
  /** Paging off: the BIOS and the host kernel's own decompression. */
  | "boot"
  /** The host kernel working for UML's kernel process (ptrace, signals, its mmaps). */
  | "host kernel, for UML"
  /** The host kernel working for any other process: UML's user processes, host tools. */
  | "host kernel, other"
  /** UML's kernel, which runs in user mode on the host. */
  | "UML kernel"
  /** Every other user-mode program: UML's user processes, the host's shell and agents. */
  | "user programs";

interface Weighed {
  instructions: number;
  ms: number;
}

export interface ProfileReport extends Weighed {
  /** What the shares and the order measure. */
  weight: ProfileWeight;
  samples: number;
  byPlace: ({ place: GuestPlace } & Weighed)[];
  top: ({ place: GuestPlace; symbol: string } & Weighed)[];
}

const weighOf = (weight: ProfileWeight) => (w: Weighed): number => (weight === "wall" ? w.ms : w.instructions);

/**
 * Sums the samples by place and symbol, ordered by `weight`. UML's kernel process is the address space with the
 * most user-mode instructions (UML's kernel runs far more than any one of its user processes, each a
 * short-lived host process).
 */
export function summarize(samples: readonly GuestSample[], maps: { host?: SymbolMap; uml?: SymbolMap }, top = 30, weight: ProfileWeight = "instructions"): ProfileReport {
  const userByCr3 = new Map<number, number>();
  for (const s of samples) if (s.cpl === 3) userByCr3.set(s.cr3, (userByCr3.get(s.cr3) ?? 0) + s.instructions);
  let umlCr3: number | undefined;
  let most = -1;
  for (const [cr3, n] of userByCr3) {
    if (n > most) [umlCr3, most] = [cr3, n];
  }
  const places = new Map<GuestPlace, { place: GuestPlace } & Weighed>();
  const symbols = new Map<string, { place: GuestPlace; symbol: string } & Weighed>();
  const total: Weighed = { instructions: 0, ms: 0 };
  const add = (into: Weighed, s: GuestSample): void => {
    into.instructions += s.instructions;
    into.ms += s.ms;
  };
  for (const s of samples) {
    const place: GuestPlace = s.cr3 === 0 ? "boot" : s.cpl === 0 ? (s.cr3 === umlCr3 ? "host kernel, for UML" : "host kernel, other") : s.cr3 === umlCr3 ? "UML kernel" : "user programs";
    add(total, s);
    const byPlace = places.get(place) ?? { place, instructions: 0, ms: 0 };
    add(byPlace, s);
    places.set(place, byPlace);
    const map = place === "UML kernel" ? maps.uml : place.startsWith("host kernel") ? maps.host : undefined;
    const symbol = map?.lookup(s.eip) ?? `page ${((s.eip >>> 12) * 4096).toString(16)}`;
    const key = `${place}\0${symbol}`;
    const entry = symbols.get(key) ?? { place, symbol, instructions: 0, ms: 0 };
    add(entry, s);
    symbols.set(key, entry);
  }
  const weigh = weighOf(weight);
  return {
    ...total,
    weight,
    samples: samples.length,
    byPlace: [...places.values()].sort((a, b) => weigh(b) - weigh(a)),
    top: [...symbols.values()].sort((a, b) => weigh(b) - weigh(a)).slice(0, top),
  };
}

const percent = (part: number, whole: number): string => `${((100 * part) / Math.max(1, whole)).toFixed(1).padStart(5)} %`;

/** A plain-text report: totals, the share of each place, the top symbols; with wall time, each one's rate. */
export function formatProfile(title: string, report: ProfileReport, wallMs: number): string {
  const mips = report.instructions / 1e6 / Math.max(0.001, wallMs / 1000);
  const weigh = weighOf(report.weight);
  const whole = weigh(report);
  const rate = (w: Weighed): string => (report.weight === "wall" ? `  ${(w.instructions / 1e3 / Math.max(0.001, w.ms)).toFixed(1).padStart(6)} M/s` : "");
  const lines = [`${title}: ${(report.instructions / 1e6).toFixed(1)} M instructions in ${(wallMs / 1000).toFixed(2)} s (${mips.toFixed(1)} M/s), ${report.samples} samples`];
  if (report.weight === "wall") lines.push(`  shares of the ${(report.ms / 1000).toFixed(2)} s between samples, with the instructions per second in each`);
  for (const p of report.byPlace) lines.push(`  ${percent(weigh(p), whole)}${rate(p)}  ${p.place}`);
  lines.push("  top symbols:");
  for (const t of report.top) lines.push(`  ${percent(weigh(t), whole)}${rate(t)}  ${t.place.padEnd(20)}  ${t.symbol}`);
  return lines.join("\n");
}
