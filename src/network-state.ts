// What the network panel says: the transport, the addresses and the preview's state, from the worker's
// NetworkStatus and the page's relay choice. Pure, so it is tested without a DOM.
import type { NetworkStatus } from "../workers/api.ts";
import type { RelaySource } from "./options.ts";

export type Tone = "good" | "busy" | "warn" | "bad" | "muted";

export interface Line {
  text: string;
  tone: Tone;
}

/** Said whenever the lab has no relay: the guest can reach much less than a real network. */
export const NO_RELAY_TEXT = "No relay: only fetch (plain HTTP, CORS-permitting sites) and your machine's localhost via 10.0.2.2 work";

const SOURCE_NOTE: Record<Exclude<RelaySource, "none">, string> = {
  address: "from ?relay=",
  build: "from this build",
  "dev-server": "the dev server's",
};

/** The transport line: the relay and its state, or plainly that there is none and what still works. */
export function transportLine(relay: { url: string | undefined; source: RelaySource }, status: Pick<NetworkStatus, "relay"> | undefined): Line {
  if (relay.url === undefined) return { text: NO_RELAY_TEXT, tone: "warn" };
  const name = `Wisp relay ${relay.url}`;
  const note = relay.source === "none" ? "" : ` (${SOURCE_NOTE[relay.source]})`;
  const state = status?.relay;
  if (!status) return { text: `${name}${note}: starts with the lab`, tone: "muted" };
  if (!state) return { text: `${name}${note}: not in use by this machine`, tone: "warn" };
  if (state.state === "open") return { text: `${name}${note}: open, ${state.streams} ${state.streams === 1 ? "stream" : "streams"}`, tone: "good" };
  if (state.state === "connecting") return { text: `${name}${note}: connecting…`, tone: "busy" };
  // Closed without an error is idle: the client opens the WebSocket on the guest's first connection.
  if (!state.error) return { text: `${name}${note}: idle, connects when the guest first needs it`, tone: "muted" };
  return { text: `${name}${note}: closed (${state.error}); until it opens again, only fetch and localhost via 10.0.2.2 work`, tone: "bad" };
}

/** UML's and the host's addresses on the lab's segment, "—" until each has taken a lease. */
export function addresses(status: Pick<NetworkStatus, "leases" | "umlAddress"> | undefined): { uml: string; host: string } {
  const host = status?.leases.find((lease) => lease.owner === "host")?.ip;
  return { uml: status?.umlAddress ?? "—", host: host ?? "—" };
}

/** Whether /guest/<port>/ addresses can work in this tab. */
export type PreviewState = { state: "starting" } | { state: "ready" } | { state: "unavailable"; reason: string };

export function previewLine(preview: PreviewState): Line {
  if (preview.state === "ready") return { text: "", tone: "good" };
  if (preview.state === "starting") return { text: "Preview: starting its Service Worker…", tone: "busy" };
  return { text: `Preview addresses (/guest/<port>/) do not work in this browser: ${preview.reason}`, tone: "bad" };
}

/** The ports line when there are none to list: why, so an empty list is not mistaken for a failure. */
export function portsNote(ready: boolean, ports: readonly number[]): string {
  if (!ready) return "UML is not running";
  return ports.length === 0 ? "none yet (e.g. httpd -p 80 -h /tmp/www in UML)" : "";
}

/** Where preview addresses live: the preview Service Worker's scope. */
export const PREVIEW_PREFIX = "/guest/";

/** The preview address of a port in UML, relative to the lab page's origin. */
export function previewPath(port: number): string {
  return `${PREVIEW_PREFIX}${port}/`;
}
