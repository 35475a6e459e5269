// The preview Service Worker, compiled as vite.config.ts serves it and run against a fake
// ServiceWorkerGlobalScope: which tab it asks, what it sends, and the Response it builds from the reply.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { transformWithEsbuild } from "vite";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { GuestResponse } from "../workers/api.ts";
import type { GuestHttpAsk, GuestHttpReply } from "./protocol.ts";

const source = path.join(path.dirname(fileURLToPath(import.meta.url)), "guest-sw.ts");
const ORIGIN = "http://lab.test";
let code = "";

beforeAll(async () => {
  code = (await transformWithEsbuild(readFileSync(source, "utf8"), source, { loader: "ts", format: "iife", target: "es2022" })).code;
});

afterEach(() => {
  vi.useRealTimers();
});

/** A window client as the Service Worker sees it; `answer` plays the lab page (undefined: never replies). */
interface FakeTab {
  url: string;
  focused?: boolean;
  visibilityState?: "visible" | "hidden";
  answer?: (ask: GuestHttpAsk) => GuestHttpReply;
}

interface Harness {
  /** Dispatches a fetch event; undefined when the worker let the request go to the network. */
  fetch(url: string, init?: RequestInit): Promise<Response> | undefined;
  /** What each tab was asked, by tab URL, in order. */
  asked: { tab: string; ask: GuestHttpAsk }[];
}

function serviceWorker(tabs: FakeTab[]): Harness {
  const listeners = new Map<string, (event: unknown) => void>();
  const asked: Harness["asked"] = [];
  const clients = tabs.map((tab) => ({
    url: tab.url,
    focused: tab.focused ?? false,
    visibilityState: tab.visibilityState ?? "hidden",
    postMessage(message: GuestHttpAsk, transfer: Transferable[]) {
      // Delivered as the browser would: cloned, with the reply port and the body's buffer transferred.
      const delivered = structuredClone({ message, transfer }, { transfer });
      const port = delivered.transfer[0];
      if (!(port instanceof MessagePort)) throw new Error("the Service Worker sent no reply port");
      asked.push({ tab: tab.url, ask: delivered.message });
      const reply = tab.answer?.(delivered.message);
      if (reply) port.postMessage(reply, reply.type === "response" ? [reply.response.body.buffer as ArrayBuffer] : []);
      port.close();
    },
  }));
  const self = {
    location: new URL(`${ORIGIN}/guest-sw.js`),
    addEventListener: (type: string, listener: (event: unknown) => void) => listeners.set(type, listener),
    skipWaiting: () => Promise.resolve(),
    clients: {
      matchAll: (options: { type: string; includeUncontrolled: boolean }) => Promise.resolve(options.type === "window" && options.includeUncontrolled ? clients : []),
      claim: () => Promise.resolve(),
    },
  };
  // The compiled worker is a classic script that reads only `self` besides standard globals.
  new Function("self", code)(self);
  return {
    asked,
    fetch(url, init) {
      let answer: Promise<Response> | undefined;
      listeners.get("fetch")?.({ request: new Request(new URL(url, ORIGIN), init), respondWith: (response: Promise<Response>) => (answer = response) });
      return answer;
    },
  };
}

const text = (body: string): Uint8Array => new TextEncoder().encode(body);

function reply(status: number, headers: [string, string][], body: Uint8Array | string = ""): GuestHttpReply {
  const response: GuestResponse = { status, reason: status === 200 ? "OK" : "", headers, body: typeof body === "string" ? text(body) : body };
  return { type: "response", response };
}

const hello = (): GuestHttpReply => reply(200, [["Content-Type", "text/html"]], "hello-from-uml\n");

describe("the preview Service Worker", () => {
  it("leaves other origins and addresses outside /guest/ to the network", () => {
    const sw = serviceWorker([{ url: `${ORIGIN}/`, answer: hello }]);
    expect(sw.fetch("http://elsewhere.test/guest/80/")).toBeUndefined();
    expect(sw.fetch("/images/manifest.json")).toBeUndefined();
    expect(sw.fetch("/guest-sw.js")).toBeUndefined();
  });

  it("answers 503 with a clear text when no lab tab is open, even with a preview tab open", async () => {
    const sw = serviceWorker([{ url: `${ORIGIN}/guest/80/`, focused: true, answer: hello }]);
    const response = await sw.fetch("/guest/80/");
    expect(response?.status).toBe(503);
    expect(response?.headers.get("content-type")).toContain("text/plain");
    expect(await response?.text()).toContain("Open the lab: the preview is served by the UML running in it");
    expect(sw.asked).toEqual([]);
  });

  it("sends the port, target, query, headers and body to the lab tab and builds the Response from its reply", async () => {
    const sw = serviceWorker([
      {
        url: `${ORIGIN}/?lab=net-1`,
        answer: () =>
          reply(201, [["Content-Type", "text/plain"], ["Connection", "close, X-Hop"], ["X-Hop", "1"], ["Transfer-Encoding", "chunked"], ["Keep-Alive", "timeout=5"], ["Content-Length", "999"], ["X-Kept", "yes"]], "made\n"),
      },
    ]);
    const response = await sw.fetch("/guest/8080/cgi-bin/form?x=1&y=%20", { method: "POST", body: "a=b", headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept-Encoding": "gzip", "X-Custom": "v" } });
    expect(response?.status).toBe(201);
    expect(await response?.text()).toBe("made\n");
    expect(response?.headers.get("x-kept")).toBe("yes");
    for (const dropped of ["connection", "x-hop", "transfer-encoding", "keep-alive", "content-length"]) expect(response?.headers.has(dropped)).toBe(false);
    const [first] = sw.asked;
    expect(sw.asked).toHaveLength(1);
    expect(first?.ask.type).toBe("umlab-guest-http");
    expect(first?.ask.port).toBe(8080);
    expect(first?.ask.request.method).toBe("POST");
    expect(first?.ask.request.target).toBe("/cgi-bin/form?x=1&y=%20");
    expect(new TextDecoder().decode(first?.ask.request.body)).toBe("a=b");
    const headers = new Map(first?.ask.request.headers);
    expect(headers.get("x-custom")).toBe("v");
    expect(headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    // The browser would not decode a compressed body handed over by the Service Worker, so none is asked for.
    expect(headers.has("accept-encoding")).toBe(false);
  });

  it("asks the focused lab tab first, then a visible one, and falls through tabs that cannot answer", async () => {
    const sw = serviceWorker([
      { url: `${ORIGIN}/?lab=hidden`, answer: () => reply(200, [], "hidden") },
      { url: `${ORIGIN}/index.html?lab=visible`, visibilityState: "visible", answer: () => reply(200, [], "visible") },
      { url: `${ORIGIN}/?lab=focused`, focused: true, visibilityState: "visible", answer: () => ({ type: "unavailable", message: "UML is still booting" }) },
      { url: `${ORIGIN}/guest/80/`, focused: true, answer: () => reply(200, [], "preview tab") },
    ]);
    const response = await sw.fetch("/guest/80/");
    expect(await response?.text()).toBe("visible");
    expect(sw.asked.map((a) => a.tab)).toEqual([`${ORIGIN}/?lab=focused`, `${ORIGIN}/index.html?lab=visible`]);
  });

  it("says why when every lab tab refuses", async () => {
    const sw = serviceWorker([{ url: `${ORIGIN}/`, answer: () => ({ type: "unavailable", message: "no machine is running in this tab" }) }]);
    const response = await sw.fetch("/guest/80/");
    expect(response?.status).toBe(503);
    expect(await response?.text()).toContain("no machine is running in this tab");
  });

  it("answers 504 when the lab tab never replies", async () => {
    vi.useFakeTimers();
    const sw = serviceWorker([{ url: `${ORIGIN}/` }]);
    const pending = sw.fetch("/guest/80/slow");
    await vi.waitFor(() => expect(sw.asked).toHaveLength(1), { interval: 1 });
    await vi.advanceTimersByTimeAsync(44_000);
    let settled = false;
    void pending?.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    const response = await pending;
    expect(response?.status).toBe(504);
    expect(await response?.text()).toContain("did not answer within 45 s for port 80 (GET /slow)");
  });

  it("gives 204, 304 and HEAD responses no body", async () => {
    for (const [status, method] of [[204, "GET"], [304, "GET"], [200, "HEAD"]] as const) {
      const sw = serviceWorker([{ url: `${ORIGIN}/`, answer: () => reply(status, [["ETag", '"x"']], status === 200 ? "ignored body" : "") }]);
      const response = await sw.fetch("/guest/80/", { method });
      expect(response?.status).toBe(status);
      expect(response?.body).toBeNull();
      expect(response?.headers.get("etag")).toBe('"x"');
    }
  });

  it("keeps an absolute-path redirect inside the preview", async () => {
    const sw = serviceWorker([{ url: `${ORIGIN}/`, answer: () => reply(302, [["Location", "/login?next=%2F"]]) }]);
    const response = await sw.fetch("/guest/3000/");
    expect(response?.status).toBe(302);
    expect(response?.headers.get("location")).toBe("/guest/3000/login?next=%2F");
    const relative = serviceWorker([{ url: `${ORIGIN}/`, answer: () => reply(301, [["Location", "sub/"]]) }]);
    expect((await relative.fetch("/guest/80/dir"))?.headers.get("location")).toBe("sub/");
  });

  it("inflates a gzip body the guest server sent, since the browser will not", async () => {
    const sw = serviceWorker([{ url: `${ORIGIN}/`, answer: () => reply(200, [["Content-Encoding", "gzip"], ["Content-Type", "text/plain"]], new Uint8Array(gzipSync("squeezed text\n"))) }]);
    const response = await sw.fetch("/guest/80/file.txt");
    expect(response?.headers.has("content-encoding")).toBe(false);
    expect(await response?.text()).toBe("squeezed text\n");
  });

  it("redirects /guest/<port> to /guest/<port>/ so relative links stay inside", async () => {
    const sw = serviceWorker([{ url: `${ORIGIN}/`, answer: hello }]);
    const response = await sw.fetch("/guest/80?q=1");
    expect(response?.status).toBe(301);
    expect(response?.headers.get("location")).toBe("/guest/80/?q=1");
    expect(sw.asked).toEqual([]);
  });

  it("explains a malformed preview address", async () => {
    const sw = serviceWorker([{ url: `${ORIGIN}/`, answer: hello }]);
    for (const address of ["/guest/", "/guest/http/", "/guest/0/", "/guest/65536/"]) {
      const response = await sw.fetch(address);
      expect(response?.status).toBe(404);
      expect(await response?.text()).toContain("A preview address is /guest/<port>/");
    }
    expect(sw.asked).toEqual([]);
  });

  it("refuses an interim or out-of-range status from the guest with a 502", async () => {
    const sw = serviceWorker([{ url: `${ORIGIN}/`, answer: () => reply(101, [["Upgrade", "websocket"]]) }]);
    const response = await sw.fetch("/guest/80/ws");
    expect(response?.status).toBe(502);
    expect(await response?.text()).toContain("status 101");
  });
});
