// The preview Service Worker (served as /guest-sw.js, scope /guest/): answers same-origin requests for
// /guest/<port>/… by asking an open lab tab, whose emulator worker speaks HTTP to the server in UML on that
// port. It keeps no state of its own, so the browser may stop and restart it at any time.
import type { GuestRequest, GuestResponse } from "../workers/api.ts";
import type { GuestHttpAsk, GuestHttpReply } from "./protocol.ts";

declare const self: ServiceWorkerGlobalScope;

/** Longer than the worker's own 30 s limit, so its more precise message normally wins. */
const ANSWER_TIMEOUT_MS = 45_000;
/** The scope the page registers; everything under it is a preview address. */
const PREVIEW_PREFIX = "/guest/";
/** The lab page lives beside this script (both at the site's root): "/" or "/index.html". */
const LAB_PATH = new URL("./", self.location.href).pathname;
/** Response statuses that must not carry a body (the Response constructor throws otherwise). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** Connection-level headers that describe the guest's TCP connection, not the resource. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "proxy-authenticate", "content-length"]);
/** Request headers not passed on: the browser cannot decode a body the Service Worker hands it as is. */
const DROP_FROM_REQUEST = new Set(["accept-encoding", "service-worker-navigation-preload"]);
/** RFC 9112's reason-phrase; the Response constructor refuses anything else. */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;
const NO_LAB_TEXT =
  "Open the lab: the preview is served by the UML running in it.\n\n" +
  "This address shows a server inside UML (/guest/<port>/ is port <port> of UML's eth0). It works only while the umlab page is open in another tab of this browser, with UML running.\n";

self.addEventListener("install", () => {
  // A new version takes over at once: the preview has no caches that an older page could depend on.
  void self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(PREVIEW_PREFIX)) return;
  event.respondWith(answer(event.request, url));
});

/** What a /guest/… address asks for: a port and the origin-form target inside the guest server. */
type PreviewRoute = { kind: "guest"; port: number; target: string } | { kind: "redirect"; location: string } | { kind: "bad"; message: string };

function previewRoute(url: URL): PreviewRoute {
  const match = /^\/guest\/(\d{1,5})(\/.*)?$/.exec(url.pathname);
  const port = Number(match?.[1]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { kind: "bad", message: `Not a preview address: ${url.pathname}\n\nA preview address is /guest/<port>/ followed by the path on the server in UML, e.g. /guest/80/index.html for busybox httpd on port 80.\n` };
  }
  // Without the slash, the guest page's relative links would resolve outside /guest/<port>/.
  if (match[2] === undefined) return { kind: "redirect", location: `${PREVIEW_PREFIX}${port}/${url.search}` };
  return { kind: "guest", port, target: `${match[2]}${url.search}` };
}

async function answer(request: Request, url: URL): Promise<Response> {
  const route = previewRoute(url);
  if (route.kind === "bad") return textResponse(404, route.message);
  if (route.kind === "redirect") return new Response(null, { status: 301, headers: { Location: route.location } });
  const labs = await labClients();
  if (labs.length === 0) return textResponse(503, NO_LAB_TEXT);
  const guestRequest = await toGuestRequest(request, route.target);
  const refusals: string[] = [];
  for (const lab of labs) {
    const reply = await askLab(lab, { type: "umlab-guest-http", port: route.port, request: copyRequest(guestRequest) });
    if (reply === "timeout") {
      return textResponse(504, `The lab tab did not answer within ${ANSWER_TIMEOUT_MS / 1000} s for port ${route.port} (${request.method} ${route.target}).\n\nIs the lab tab still open and running? A tab in the background may be throttled by the browser.\n`);
    }
    if (reply.type === "response") return toResponse(reply.response, request.method, route.port);
    refusals.push(reply.message);
  }
  return textResponse(503, `The lab is open but cannot answer for port ${route.port}: ${refusals.join("; ")}\n\nWait until UML is ready in the lab tab, then reload this page.\n`);
}

/** The open lab tabs, best first: focused, then visible, then the browser's order (most recently focused). */
async function labClients(): Promise<WindowClient[]> {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const rank = (client: WindowClient): number => (client.focused ? 2 : client.visibilityState === "visible" ? 1 : 0);
  return windows.filter((client) => isLabAddress(client.url)).sort((a, b) => rank(b) - rank(a));
}

/** A lab tab is this origin's page at the lab's path; a preview tab (under /guest/) is never one. */
function isLabAddress(address: string): boolean {
  const url = new URL(address);
  return url.origin === self.location.origin && (url.pathname === LAB_PATH || url.pathname === `${LAB_PATH}index.html`);
}

async function toGuestRequest(request: Request, target: string): Promise<GuestRequest> {
  const headers: [string, string][] = [];
  request.headers.forEach((value, name) => {
    if (!DROP_FROM_REQUEST.has(name)) headers.push([name, value]);
  });
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : new Uint8Array(await request.arrayBuffer());
  return { method: request.method, target, headers, ...(body && body.length > 0 ? { body } : {}) };
}

/** Each lab asked gets its own copy: the body's buffer is transferred, and a refusal lets the next lab try. */
function copyRequest(request: GuestRequest): GuestRequest {
  return { ...request, headers: request.headers.map(([name, value]) => [name, value]), ...(request.body ? { body: request.body.slice() } : {}) };
}

function askLab(lab: WindowClient, ask: GuestHttpAsk): Promise<GuestHttpReply | "timeout"> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => {
      channel.port1.close();
      resolve("timeout");
    }, ANSWER_TIMEOUT_MS);
    channel.port1.onmessage = (event: MessageEvent<unknown>) => {
      clearTimeout(timer);
      channel.port1.close();
      resolve(readReply(event.data));
    };
    const body = ask.request.body ? arrayBufferBytes(ask.request.body) : undefined;
    lab.postMessage({ ...ask, request: { ...ask.request, ...(body ? { body } : {}) } }, body ? [channel.port2, body.buffer] : [channel.port2]);
  });
}

/** The page is ours, but a reply is still checked before a Response is built from it. */
function readReply(data: unknown): GuestHttpReply {
  if (typeof data === "object" && data !== null && "type" in data) {
    if (data.type === "unavailable" && "message" in data && typeof data.message === "string") return { type: "unavailable", message: data.message };
    if (data.type === "response" && "response" in data && isGuestResponse(data.response)) return { type: "response", response: data.response };
  }
  return { type: "response", response: { status: 502, reason: "", headers: [["Content-Type", "text/plain; charset=utf-8"]], body: new TextEncoder().encode("The lab tab sent a malformed reply.\n") } };
}

function isGuestResponse(value: unknown): value is GuestResponse {
  if (typeof value !== "object" || value === null) return false;
  const response = value as Partial<Record<keyof GuestResponse, unknown>>;
  return typeof response.status === "number" && typeof response.reason === "string" && Array.isArray(response.headers) && response.body instanceof Uint8Array;
}

function toResponse(guest: GuestResponse, method: string, port: number): Response {
  if (guest.status < 200 || guest.status > 599) return textResponse(502, `The server on port ${port} answered with status ${guest.status}, which a preview cannot show.\n`);
  const connectionTokens = new Set<string>();
  for (const [name, value] of guest.headers) {
    if (name.toLowerCase() === "connection") for (const token of value.split(",")) connectionTokens.add(token.trim().toLowerCase());
  }
  const headers = new Headers();
  let encoding: string | undefined;
  for (const [name, value] of guest.headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || connectionTokens.has(lower)) continue;
    if (lower === "content-encoding") {
      encoding = value.trim().toLowerCase();
      continue;
    }
    try {
      headers.append(name, lower === "location" ? previewLocation(value, port) : value);
    } catch {
      // A header the Fetch API refuses (bad name or value) is left out rather than failing the page.
    }
  }
  const init: ResponseInit = { status: guest.status, headers };
  if (NULL_BODY_STATUSES.has(guest.status) || method === "HEAD") return withReason(null, init, guest.reason);
  const decoder = encoding === "gzip" || encoding === "x-gzip" ? "gzip" : encoding === "deflate" ? "deflate" : undefined;
  // A Response built here is never decoded by the browser, so a compressed body is inflated first.
  const body = arrayBufferBytes(guest.body);
  if (decoder) return withReason(new Blob([body]).stream().pipeThrough(new DecompressionStream(decoder)), init, guest.reason);
  if (encoding && encoding !== "identity") headers.set("Content-Encoding", encoding);
  return withReason(body, init, guest.reason);
}

/** A redirect to "/path" on the guest server means /guest/<port>/path here. */
function previewLocation(location: string, port: number): string {
  return location.startsWith("/") && !location.startsWith("//") ? `${PREVIEW_PREFIX}${port}${location}` : location;
}

/** A reason phrase the Fetch API would refuse is dropped: the status alone says enough. */
function withReason(body: BodyInit | null, init: ResponseInit, reason: string): Response {
  return new Response(body, REASON_PHRASE.test(reason) ? { ...init, statusText: reason } : init);
}

/** The same bytes typed as ArrayBuffer-backed (what postMessage delivers), which BodyInit and transfer lists need. */
function arrayBufferBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const { buffer } = bytes;
  return buffer instanceof ArrayBuffer ? new Uint8Array(buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
}

function textResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" } });
}
