import { describe, expect, it } from "vitest";
import { holdLabLock, labLockName, type LockRequester } from "./lab-lock.ts";

/** A single-process stand-in for navigator.locks: exclusive locks, FIFO waiters, abortable waits. */
class FakeLocks implements LockRequester {
  readonly held = new Set<string>();
  private readonly waiters = new Map<string, (() => void)[]>();

  request<T>(name: string, ...args: [LockGrantedCallback<T>] | [LockOptions, LockGrantedCallback<T>]): Promise<Awaited<T>> {
    const [options, callback] = args.length === 1 ? [{}, args[0]] : args;
    const grant = async (): Promise<Awaited<T>> => {
      this.held.add(name);
      try {
        return await callback({ name, mode: "exclusive" } as Lock);
      } finally {
        this.held.delete(name);
        this.waiters.get(name)?.shift()?.();
      }
    };
    if (!this.held.has(name)) return grant();
    if (options.ifAvailable) return Promise.resolve(callback(null)).then((v) => v);
    return new Promise<Awaited<T>>((resolve, reject) => {
      const go = (): void => void grant().then(resolve, reject);
      const queue = this.waiters.get(name) ?? [];
      queue.push(go);
      this.waiters.set(name, queue);
      options.signal?.addEventListener("abort", () => {
        queue.splice(queue.indexOf(go), 1);
        reject(new DOMException("aborted", "AbortError"));
      });
    });
  }

  /** Simulates the holding tab closing. */
  releaseAll(name: string): void {
    this.held.delete(name);
    this.waiters.get(name)?.shift()?.();
  }
}

describe("holdLabLock", () => {
  it("takes a free lab's lock and keeps it", async () => {
    const locks = new FakeLocks();
    expect(await holdLabLock(locks, "default", { wait: false })).toBe(true);
    expect(locks.held.has(labLockName("default"))).toBe(true);
    expect(labLockName("default")).toBe("umlab-lab-default");
  });

  it("reports a lab another tab holds without waiting, and leaves other labs free", async () => {
    const locks = new FakeLocks();
    await holdLabLock(locks, "default", { wait: false });
    expect(await holdLabLock(locks, "default", { wait: false })).toBe(false);
    expect(await holdLabLock(locks, "other", { wait: false })).toBe(true);
  });

  it("waits for the other tab to close when asked", async () => {
    const locks = new FakeLocks();
    await holdLabLock(locks, "default", { wait: false });
    let granted = false;
    const waiting = holdLabLock(locks, "default", { wait: true }).then((ok) => (granted = ok));
    await Promise.resolve();
    expect(granted).toBe(false);
    locks.releaseAll(labLockName("default"));
    await waiting;
    expect(granted).toBe(true);
  });

  it("gives up a wait when aborted", async () => {
    const locks = new FakeLocks();
    await holdLabLock(locks, "default", { wait: false });
    const abort = new AbortController();
    const waiting = holdLabLock(locks, "default", { wait: true, signal: abort.signal });
    abort.abort();
    await expect(waiting).rejects.toThrow("aborted");
  });
});
