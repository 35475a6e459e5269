// Page options from the URL query: which UML kernel to boot, which lab (disk) to open, how to start.
import type { KernelFlavour, PrefetchHint } from "../workers/api.ts";
import { PREVIEW_PREFIX } from "./network-state.ts";

/** Kept in step with KernelFlavour by the `satisfies` below; src/ may not import the worker's runtime list. */
export const KERNELS = ["lean", "debian"] as const satisfies readonly KernelFlavour[];
export const DEFAULT_KERNEL: KernelFlavour = "lean";
export const DEFAULT_LAB = "default";

// Fails to compile if KernelFlavour gains a member that KERNELS lacks.
const everyFlavourListed: Exclude<KernelFlavour, (typeof KERNELS)[number]> extends never ? true : false = true;
void everyFlavourListed;

export type KernelChoice = { ok: true; kernel: KernelFlavour } | { ok: false; value: string; message: string };

export function isKernel(value: string): value is KernelFlavour {
  return (KERNELS as readonly string[]).includes(value);
}

/** Reads ?kernel=; absent or empty means the default, anything unknown is reported rather than guessed. */
export function kernelFromSearch(search: string): KernelChoice {
  const value = new URLSearchParams(search).get("kernel");
  if (value === null || value === "") return { ok: true, kernel: DEFAULT_KERNEL };
  if (isKernel(value)) return { ok: true, kernel: value };
  return { ok: false, value, message: `Unknown kernel "${value}" in the address (?kernel=${value}). Known kernels: ${KERNELS.join(", ")}.` };
}

/** The same address with ?kernel= set, other parameters and the fragment untouched. */
export function urlWithKernel(href: string, kernel: KernelFlavour): string {
  const url = new URL(href);
  url.searchParams.set("kernel", kernel);
  return url.toString();
}

/** Lab names become IndexedDB keys and lock names; keep them short and plain. */
const LAB_NAME = /^[a-z0-9-]{1,32}$/;

export type LabChoice = { ok: true; lab: string } | { ok: false; value: string; message: string };

/** Reads ?lab=; absent or empty means "default", anything outside [a-z0-9-]{1,32} is reported. */
export function labFromSearch(search: string): LabChoice {
  const value = new URLSearchParams(search).get("lab");
  if (value === null || value === "") return { ok: true, lab: DEFAULT_LAB };
  if (LAB_NAME.test(value)) return { ok: true, lab: value };
  return { ok: false, value, message: `Bad lab name "${value}" in the address (?lab=${value}). A lab name is 1 to 32 characters of a-z, 0-9 and "-".` };
}

/** The page's own start modes; a session resume is chosen in the sessions list, never by the address. */
export type AddressBootMode = "auto" | "cold";

export type BootModeChoice = { ok: true; mode: AddressBootMode } | { ok: false; value: string; message: string };

/** Reads ?boot=; absent or empty means "auto" (snapshot or saved session when possible). */
export function bootModeFromSearch(search: string): BootModeChoice {
  const value = new URLSearchParams(search).get("boot");
  if (value === null || value === "" || value === "auto") return { ok: true, mode: "auto" };
  if (value === "cold") return { ok: true, mode: "cold" };
  return { ok: false, value, message: `Unknown boot mode "${value}" in the address (?boot=${value}). Known modes: auto, cold.` };
}

/** Where the page's images are: the manifest names every artifact relative to itself. */
export function manifestUrlFor(href: string): string {
  return new URL("/images/manifest.json", href).toString();
}

/**
 * The boot the page will ask for as it opens this address, for the worker's head start (see PrefetchHint);
 * undefined when the page would not boot at once, or would cold boot.
 */
export function prefetchHintFor(href: string): PrefetchHint | undefined {
  const url = new URL(href);
  if (url.pathname.startsWith(PREVIEW_PREFIX)) return undefined;
  const lab = labFromSearch(url.search);
  const kernel = kernelFromSearch(url.search);
  const mode = bootModeFromSearch(url.search);
  if (!lab.ok || !kernel.ok || !mode.ok || mode.mode === "cold") return undefined;
  return { manifestUrl: manifestUrlFor(href), kernel: kernel.kernel, lab: lab.lab, mode: mode.mode };
}

/** The emulator worker's name, carrying the hint where the worker reads it at once (see PrefetchHint). */
export function emulatorWorkerName(hint: PrefetchHint | undefined): string {
  return hint ? `umlab-emulator ${JSON.stringify(hint)}` : "umlab-emulator";
}

/** The same address with one parameter set, e.g. ?relay=none after a bad VITE_UMLAB_RELAY. */
export function urlWithParam(href: string, name: string, value: string): string {
  const url = new URL(href);
  url.searchParams.set(name, value);
  return url.toString();
}

/** The same address with one parameter removed, e.g. a bad ?lab= after falling back to the default. */
export function urlWithout(href: string, name: string): string {
  const url = new URL(href);
  url.searchParams.delete(name);
  return url.toString();
}

/** Where the Wisp relay setting came from, so the page can say why it uses (or lacks) one. */
export type RelaySource = "address" | "build" | "dev-server" | "none";

export type RelayChoice = { ok: true; relayUrl: string | undefined; source: RelaySource } | { ok: false; value: string; message: string };

export interface RelayDefaults {
  /** import.meta.env.VITE_UMLAB_RELAY: a relay baked into the build ("none" or empty means none). */
  buildRelay: string | undefined;
  /** import.meta.env.DEV: the Vite dev server serves a relay at /wisp/ on its own origin. */
  dev: boolean;
  /** The page's address, for the dev server's same-origin relay and the mixed-content check. */
  pageUrl: string;
}

/** Checks a relay URL: ws: or wss:, and wss: from an https page unless the relay is on this machine. */
function checkRelayUrl(value: string, pageUrl: string): { ok: true; url: string } | { ok: false; why: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, why: "it is not a URL" };
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") return { ok: false, why: `it is a ${url.protocol} URL where a relay needs ws: or wss:` };
  const loopback = url.hostname === "localhost" || url.hostname === "[::1]" || url.hostname.startsWith("127.");
  // Browsers block ws:// from an https page (mixed content), so the relay would silently never open.
  if (url.protocol === "ws:" && new URL(pageUrl).protocol === "https:" && !loopback) return { ok: false, why: "this page is served over https, which may only open wss:// relays" };
  return { ok: true, url: url.toString() };
}

/**
 * The Wisp relay to boot with: ?relay=<ws(s) URL> wins, ?relay=none turns it off; else the build's
 * VITE_UMLAB_RELAY; else, on the dev server, its own /wisp/; else none. A malformed URL is reported.
 */
export function relayFromSearch(search: string, defaults: RelayDefaults): RelayChoice {
  const value = new URLSearchParams(search).get("relay");
  if (value === "none") return { ok: true, relayUrl: undefined, source: "none" };
  if (value !== null && value !== "") {
    const checked = checkRelayUrl(value, defaults.pageUrl);
    if (checked.ok) return { ok: true, relayUrl: checked.url, source: "address" };
    return { ok: false, value, message: `Bad relay "${value}" in the address (?relay=${value}): ${checked.why}. A relay is a ws:// or wss:// URL, e.g. ?relay=wss://relay.example/wisp/, or ?relay=none for no relay.` };
  }
  const built = defaults.buildRelay?.trim();
  if (built === "none") return { ok: true, relayUrl: undefined, source: "none" };
  if (built) {
    const checked = checkRelayUrl(built, defaults.pageUrl);
    if (checked.ok) return { ok: true, relayUrl: checked.url, source: "build" };
    return { ok: false, value: built, message: `Bad relay "${built}" in this build (VITE_UMLAB_RELAY): ${checked.why}. Rebuild with a ws:// or wss:// URL, or open the page with ?relay=none or ?relay=<url>.` };
  }
  if (defaults.dev) {
    const page = new URL(defaults.pageUrl);
    return { ok: true, relayUrl: `${page.protocol === "https:" ? "wss:" : "ws:"}//${page.host}/wisp/`, source: "dev-server" };
  }
  return { ok: true, relayUrl: undefined, source: "none" };
}

export type DohChoice = { ok: true; dohUrl: string | undefined } | { ok: false; value: string; message: string };

/** Reads ?doh=: a DNS-over-HTTPS endpoint (RFC 8484) the worker asks for names; absent means none. */
export function dohFromSearch(search: string): DohChoice {
  const value = new URLSearchParams(search).get("doh");
  if (value === null || value === "") return { ok: true, dohUrl: undefined };
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === "https:" || url.protocol === "http:")) return { ok: true, dohUrl: url.toString() };
  return { ok: false, value, message: `Bad DNS-over-HTTPS server "${value}" in the address (?doh=${value}): it must be an https:// (or http://) URL, e.g. ?doh=https://cloudflare-dns.com/dns-query.` };
}

/** Reads ?net=v86-fetch: v86's own fetch backend instead of umlab's stack, the benchmark's peer figure. */
export function networkBackendFromSearch(search: string): "umlab" | "v86-fetch" {
  return new URLSearchParams(search).get("net") === "v86-fetch" ? "v86-fetch" : "umlab";
}

export type RelayDnsChoice = { ok: true; relayDns: string | undefined } | { ok: false; message: string };

/** Reads ?dns=<ip>[:port]: a DNS server the relay reaches over UDP, so the guest sees real addresses. */
export function relayDnsFromSearch(search: string): RelayDnsChoice {
  const value = new URLSearchParams(search).get("dns");
  if (value === null || value === "") return { ok: true, relayDns: undefined };
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(value);
  const port = Number(m?.[2] ?? "53");
  if (m?.[1] && m[1].split(".").every((octet) => Number(octet) <= 255) && port >= 1 && port <= 65535) return { ok: true, relayDns: `${m[1]}:${port}` };
  return { ok: false, message: `Bad DNS server "${value}" in the address (?dns=${value}): it must be an IPv4 address with an optional port, e.g. ?dns=1.1.1.1 or ?dns=192.0.2.53:5353. It is reached through the relay.` };
}
