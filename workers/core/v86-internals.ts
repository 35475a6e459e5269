// The few v86 internals umlab needs that v86.d.ts does not declare, reached in one place.
// Both exist in v86 0.5.462's build; if a release renames them, the fallbacks keep the machine running.
import type { V86 } from "v86";
import type { V86FileSystem } from "./share-fs.ts";

export interface V86Bus {
  send(name: string, value: unknown): void;
}

interface VirtQueueLike {
  has_request(): boolean;
}

interface V86Internals {
  bus?: V86Bus;
  v86?: { cpu?: { devices?: { virtio_console?: { virtio?: { queues?: VirtQueueLike[] } }; virtio_net?: { virtio?: { queues?: VirtQueueLike[] } } } } };
}

/** The emulator's event bus, used to send virtio-console input and resize events. */
export function busOf(emulator: V86): V86Bus {
  const bus = (emulator as unknown as V86Internals).bus;
  if (!bus) throw new Error("this v86 build has no event bus");
  return bus;
}

function virtioConsoleQueue(emulator: V86, index: number): VirtQueueLike | undefined {
  const queue = (emulator as unknown as V86Internals).v86?.cpu?.devices?.virtio_console?.virtio?.queues?.[index];
  return typeof queue?.has_request === "function" ? queue : undefined;
}

/** The guest's receive queue of a virtio-console port, if it can be reached. */
export function virtioConsoleReceiveQueue(emulator: V86, port: number): VirtQueueLike | undefined {
  return virtioConsoleQueue(emulator, port === 0 ? 0 : port * 2 + 2);
}

/** The queue that carries control messages (resizes among them) to the guest. */
export function virtioConsoleControlQueue(emulator: V86): VirtQueueLike | undefined {
  return virtioConsoleQueue(emulator, 2);
}

/** Listens to a virtio-console port's output; v86.d.ts declares the event for port 0 only. */
export function onVirtioConsoleOutput(emulator: V86, port: number, listener: (bytes: Uint8Array) => void): void {
  (emulator.add_listener as unknown as (event: string, fn: (bytes: Uint8Array) => void) => void).call(emulator, `virtio-console${port}-output-bytes`, listener);
}

/** virtio-net's receive queue: v86 drops (and logs) a frame that finds no guest buffer in it. */
export function virtioNetReceiveQueue(emulator: V86): VirtQueueLike | undefined {
  const queue = (emulator as unknown as V86Internals).v86?.cpu?.devices?.virtio_net?.virtio?.queues?.[0];
  return typeof queue?.has_request === "function" ? queue : undefined;
}

/** v86's 9p filesystem (the `filesystem` option), which the host mounts at /lab. */
export function fileSystemOf(emulator: V86): V86FileSystem | undefined {
  const fs = (emulator as unknown as { fs9p?: V86FileSystem }).fs9p;
  return fs && typeof fs.SearchPath === "function" ? fs : undefined;
}

/** v86's JIT settings (its set_jit_config and get_jit_config keys). */
export interface JitConfig {
  /** 1: no new code is compiled (code compiled before keeps running). */
  disabled: number;
  /** Pages of guest code one compiled wasm module may span (v86's default: 3). */
  maxPages: number;
  /** Basic blocks a module may take beyond its entry points (v86's default: 250). */
  maxExtraBasicBlocks: number;
}

const JIT_CONFIG_KEYS: Readonly<Record<keyof JitConfig, number>> = { disabled: 0, maxPages: 1, maxExtraBasicBlocks: 3 };

interface JitCpu {
  set_jit_config(key: number, value: number): void;
  wm: { exports: { get_jit_config(key: number): number } };
}

function jitCpuOf(emulator: V86): JitCpu | undefined {
  const cpu = (emulator as unknown as { v86?: { cpu?: Partial<JitCpu> } }).v86?.cpu;
  return typeof cpu?.set_jit_config === "function" && typeof cpu.wm?.exports?.get_jit_config === "function" ? (cpu as JitCpu) : undefined;
}

/** Changes some of v86's JIT settings; false (and nothing changed) if this build has no such calls. */
export function setJitConfig(emulator: V86, config: Partial<JitConfig>): boolean {
  const cpu = jitCpuOf(emulator);
  if (!cpu) return false;
  for (const [name, value] of Object.entries(config) as [keyof JitConfig, number][]) cpu.set_jit_config(JIT_CONFIG_KEYS[name], value);
  return true;
}

/** v86's JIT settings as they are, if this build lets them be read. */
export function jitConfigOf(emulator: V86): JitConfig | undefined {
  const cpu = jitCpuOf(emulator);
  if (!cpu) return undefined;
  const get = (name: keyof JitConfig): number => cpu.wm.exports.get_jit_config(JIT_CONFIG_KEYS[name]);
  return { disabled: get("disabled"), maxPages: get("maxPages"), maxExtraBasicBlocks: get("maxExtraBasicBlocks") };
}

/**
 * Calls `listener` whenever v86's JIT hands a module of compiled guest code to the browser (its CPU's
 * codegen_finalize, which v86's wasm calls through the CPU object). False if this build has no such call.
 */
export function onJitModule(emulator: V86, listener: () => void): boolean {
  const cpu = (emulator as unknown as { v86?: { cpu?: { codegen_finalize?: unknown } } }).v86?.cpu;
  const finalize = cpu?.codegen_finalize;
  if (!cpu || typeof finalize !== "function") return false;
  cpu.codegen_finalize = (...args: unknown[]): unknown => {
    listener();
    return (finalize as (...a: unknown[]) => unknown).apply(cpu, args);
  };
  return true;
}

/** The CPU state a guest profiler reads: views of v86's wasm memory, and the hook its main loop calls. */
export interface V86CpuProbe {
  instruction_pointer: ArrayLike<number>;
  /** Control registers; cr[3] is the page directory, one per address space. */
  cr: ArrayLike<number>;
  /** Current privilege level: 0 is the host kernel, 3 user mode. */
  cpl: ArrayLike<number>;
  instruction_counter: ArrayLike<number>;
  /** Called by v86's main loop after every batch of about 100,000 instructions. */
  run_hardware_timers(acpiEnabled: number, now: number): number;
}

/** v86's register views are Proxies over its wasm memory (they survive its growth), not typed arrays. */
const isRegisterView = (view: unknown): view is ArrayLike<number> => typeof view === "object" && view !== null && typeof (view as ArrayLike<unknown>)[0] === "number";

/** v86's CPU for cli/guest-profile.ts, or undefined if this build's CPU lacks the fields it reads. */
export function cpuProbeOf(emulator: V86): V86CpuProbe | undefined {
  const cpu = (emulator as unknown as { v86?: { cpu?: Partial<Record<keyof V86CpuProbe, unknown>> } }).v86?.cpu;
  if (!cpu) return undefined;
  const ok = isRegisterView(cpu.instruction_pointer) && isRegisterView(cpu.cr) && isRegisterView(cpu.cpl) && isRegisterView(cpu.instruction_counter) && typeof cpu.run_hardware_timers === "function";
  return ok ? (cpu as unknown as V86CpuProbe) : undefined;
}
