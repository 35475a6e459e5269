// Naming and ordering of the console tabs (UML, Host, then the extra UML consoles): pure, so it is testable.

/** The extra consoles' tab keys; "uml" and "host" are the two fixed ones. */
export function muxKey(channel: number): string {
  return `console-${channel}`;
}

/** The UML channel behind a tab key, or undefined for the fixed consoles. */
export function channelOf(key: string): number | undefined {
  const m = /^console-(\d+)$/.exec(key);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** The tab `step` places from `key`, wrapping around, as the ARIA tabs pattern's arrow keys move. */
export function neighbour(order: readonly string[], key: string, step: 1 | -1): string | undefined {
  const at = order.indexOf(key);
  if (at < 0 || order.length === 0) return order[0];
  return order[(at + step + order.length) % order.length];
}

/**
 * Which console to show after `gone` left the docked area (closed or detached): the next eligible one
 * after it, else the nearest before it, else none.
 */
export function fallbackAfter(order: readonly string[], gone: string, eligible: (key: string) => boolean): string | undefined {
  const at = order.indexOf(gone);
  const after = order.slice(at + 1).find((k) => k !== gone && eligible(k));
  if (after !== undefined) return after;
  return order
    .slice(0, Math.max(0, at))
    .reverse()
    .find((k) => k !== gone && eligible(k));
}

/**
 * The console on the right of a split: the one asked for if it can be shown beside `left`, else the
 * first other eligible one after `left` (wrapping), else none (a split needs two docked consoles).
 */
export function splitPartner(order: readonly string[], left: string, preferred: string | undefined, eligible: (key: string) => boolean): string | undefined {
  if (preferred !== undefined && preferred !== left && order.includes(preferred) && eligible(preferred)) return preferred;
  const at = order.indexOf(left);
  const rotated = [...order.slice(at + 1), ...order.slice(0, Math.max(0, at))];
  return rotated.find((k) => k !== left && eligible(k));
}
