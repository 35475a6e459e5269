// One writer per lab: the tab holding the lab's Web Lock owns its stored disk; other tabs open it read-only.

/** The part of navigator.locks this needs, so tests can pass a fake. */
export type LockRequester = Pick<LockManager, "request">;

export function labLockName(lab: string): string {
  return `umlab-lab-${lab}`;
}

/**
 * Asks for the lab's lock and, once granted, holds it for the page's lifetime (the browser drops it when
 * the tab closes). Resolves true when held, false when another tab holds it (only without `wait`); rejects
 * when `signal` aborts a wait.
 */
export function holdLabLock(locks: LockRequester, lab: string, options: { wait: boolean; signal?: AbortSignal }): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const options_: LockOptions = options.wait ? (options.signal ? { signal: options.signal } : {}) : { ifAvailable: true };
    locks
      .request(labLockName(lab), options_, (lock) => {
        resolve(lock !== null);
        // Never settles while held: the lock is released only when the page goes away.
        return lock === null ? undefined : new Promise<void>(() => undefined);
      })
      .catch((err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
  });
}
