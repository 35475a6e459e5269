// The preview's messages between the Service Worker (sw/guest-sw.ts) and the lab page (src/guest-preview.ts).
// Types only: the Service Worker is served as one transformed file and imports nothing at run time.
import type { GuestRequest, GuestResponse } from "../workers/api.ts";

/** Service Worker → lab page, with one MessagePort (transferred) on which the page replies once. */
export interface GuestHttpAsk {
  type: "umlab-guest-http";
  /** The TCP port in UML, from /guest/<port>/. */
  port: number;
  request: GuestRequest;
}

/**
 * Lab page → Service Worker. "unavailable": this tab runs no machine that could answer (booting,
 * stopped, failed), so the Service Worker asks another lab tab or says so.
 */
export type GuestHttpReply = { type: "response"; response: GuestResponse } | { type: "unavailable"; message: string };
