// When the page saves a session on its own: only with something new to keep and somewhere to keep it.
import type { BootStage, Persistence } from "../workers/api.ts";

/** Background autosave period while the machine is ready. */
export const AUTOSAVE_INTERVAL_MS = 3 * 60_000;

export interface AutosaveFacts {
  stage: BootStage;
  persistence: Persistence | undefined;
  /** The user typed since the last save began. */
  dirty: boolean;
  /** A save is already running. */
  saving: boolean;
}

export function shouldAutosave(facts: AutosaveFacts): boolean {
  // A read-only tab never writes; sessions need a running guest; each save snapshots all RAM, so skip idle ones.
  return facts.persistence === "persistent" && facts.stage === "ready" && facts.dirty && !facts.saving;
}
