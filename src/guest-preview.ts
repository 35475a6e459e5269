// The page's half of the preview: registers the Service Worker (sw/guest-sw.ts, scope /guest/) and answers
// the requests it forwards by asking the emulator worker, which speaks HTTP to the server in UML.
import type { GuestRequest, GuestResponse } from "../workers/api.ts";
import type { GuestHttpAsk, GuestHttpReply } from "../sw/protocol.ts";
import { PREVIEW_PREFIX, type PreviewState } from "./network-state.ts";

/** The Service Worker's script, emitted at the site's root by vite.config.ts so its scope can be /guest/. */
const SCRIPT = "/guest-sw.js";
/** Installing the worker is a small download and a few events; much longer means it is stuck. */
const ACTIVATE_TIMEOUT_MS = 30_000;

export interface PreviewHost {
  /** Answers through this tab's machine, or says why it cannot (no machine, UML not ready). */
  guestHttp(port: number, request: GuestRequest): { response: Promise<GuestResponse> } | { unavailable: string };
  /** The preview became usable, or cannot work in this browser. */
  changed(state: PreviewState): void;
}

/** Starts answering preview requests and registers the Service Worker; reports its state through `host`. */
export function startGuestPreview(host: PreviewHost): void {
  const container = navigator.serviceWorker as ServiceWorkerContainer | undefined;
  if (!container) {
    host.changed({ state: "unavailable", reason: "Service Workers are off here (they need https or localhost, and some private modes disable them)" });
    return;
  }
  container.addEventListener("message", (event: MessageEvent<unknown>) => {
    const ask = readAsk(event.data);
    const replyPort = event.ports[0];
    if (!ask || !replyPort) return;
    void answer(host, ask).then((reply) => {
      const transfer = reply.type === "response" && reply.response.body.buffer instanceof ArrayBuffer ? [reply.response.body.buffer] : [];
      replyPort.postMessage(reply, transfer);
      replyPort.close();
    });
  });
  // Messages the worker sent before this listener existed are queued until now.
  container.startMessages();
  host.changed({ state: "starting" });
  container
    .register(SCRIPT, { scope: PREVIEW_PREFIX, updateViaCache: "none" })
    .then((registration) => whenActivated(registration))
    .then(
      () => host.changed({ state: "ready" }),
      (err: unknown) => host.changed({ state: "unavailable", reason: err instanceof Error ? err.message : String(err) }),
    );
}

async function answer(host: PreviewHost, ask: GuestHttpAsk): Promise<GuestHttpReply> {
  const answered = host.guestHttp(ask.port, ask.request);
  if ("unavailable" in answered) return { type: "unavailable", message: answered.unavailable };
  try {
    return { type: "response", response: await answered.response };
  } catch (err) {
    const message = `The lab tab could not reach port ${ask.port} in UML: ${err instanceof Error ? err.message : String(err)}\n`;
    return { type: "response", response: { status: 502, reason: "Bad Gateway", headers: [["Content-Type", "text/plain; charset=utf-8"]], body: new TextEncoder().encode(message) } };
  }
}

/**
 * Resolves once the registration has an activated worker. Not navigator.serviceWorker.ready: that waits
 * for a worker controlling this page, which never happens since the lab page lies outside /guest/.
 */
function whenActivated(registration: ServiceWorkerRegistration): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`its Service Worker did not activate within ${ACTIVATE_TIMEOUT_MS / 1000} s`)), ACTIVATE_TIMEOUT_MS);
    const check = (): void => {
      if (registration.active?.state === "activated") {
        clearTimeout(timer);
        resolve();
        return;
      }
      // Follow the newest worker: an installing one may replace (make redundant) the one seen before.
      const worker = registration.installing ?? registration.waiting ?? registration.active;
      worker?.addEventListener("statechange", check, { once: true });
    };
    registration.addEventListener("updatefound", check);
    check();
  });
}

function readAsk(data: unknown): GuestHttpAsk | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const ask = data as Partial<Record<keyof GuestHttpAsk, unknown>>;
  if (ask.type !== "umlab-guest-http" || typeof ask.port !== "number" || !Number.isInteger(ask.port) || ask.port < 1 || ask.port > 65535) return undefined;
  const request = ask.request as Partial<Record<keyof GuestRequest, unknown>> | undefined;
  if (typeof request?.method !== "string" || typeof request.target !== "string" || !Array.isArray(request.headers)) return undefined;
  const headers: [string, string][] = [];
  for (const pair of request.headers as unknown[]) {
    if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") headers.push([pair[0], pair[1]]);
  }
  const body = request.body instanceof Uint8Array ? request.body : undefined;
  return { type: "umlab-guest-http", port: ask.port, request: { method: request.method, target: request.target, headers, ...(body ? { body } : {}) } };
}
