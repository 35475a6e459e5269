// What the error view says for each way a boot can fail: a title, the facts, and what to do next.
import type { BootError, BootErrorKind } from "../workers/api.ts";

export interface Problem {
  title: string;
  /** Shown verbatim. */
  message: string;
  file?: string;
  /** What the user should do; `code` spans mark commands. */
  advice: string;
  /** Label of the button that boots again. */
  action: string;
}

const BY_KIND: Record<BootErrorKind, { title: string; advice: string }> = {
  "manifest-missing": {
    title: "Images not built",
    advice: "Build the images with `npm run images` in the repository, then reload this page.",
  },
  "manifest-invalid": {
    title: "Bad manifest",
    advice: "images/out/manifest.json is damaged or from another version: run `npm run images` again, then reload.",
  },
  "artifact-missing": {
    title: "Missing artifact",
    advice: "A file listed in the manifest is not being served: rebuild with `npm run images`, then reload.",
  },
  "artifact-corrupt": {
    title: "Corrupted artifact",
    advice: "A file does not match the hash in the manifest: rebuild with `npm run images` (a half-finished build or a stale cache can cause this), then reload.",
  },
  emulator: {
    title: "Emulator failed",
    advice: "Press Retry; if it fails again, look at the browser console and try rebuilding with `npm run images`.",
  },
  "stale-disk": {
    title: "Disk from an older release",
    advice: "This lab's stored disk was made for another image release and is not booted on this one. Press Retry to choose: keep using the old image, or export the disk and start fresh.",
  },
};

export function bootProblem(error: BootError): Problem {
  const { title, advice } = BY_KIND[error.kind];
  return { title, message: error.message, ...(error.file === undefined ? {} : { file: error.file }), advice, action: "Retry" };
}

/** The guest reported a failure after the emulator had started. */
export function guestProblem(detail: string): Problem {
  return { title: "Boot failed", message: detail, advice: "The Host console tab may show why. Press Retry to boot again.", action: "Retry" };
}

/** The worker script could not load or threw outside any call. */
export function workerProblem(detail: string): Problem {
  return {
    title: "Emulator failed",
    message: detail,
    advice: "The emulator worker could not run. Press Retry to start a new one; if that fails too, reload the page, and if you serve a build, check that the worker script and v86.wasm are served with it.",
    action: "Retry",
  };
}

export function unknownKernelProblem(message: string, fallback: string): Problem {
  return { title: "Unknown kernel", message, advice: "Choose a kernel in the header, or open the page with `?kernel=lean` or `?kernel=debian`.", action: `Boot ${fallback}` };
}

export function badLabProblem(message: string): Problem {
  return { title: "Bad lab name", message, advice: "Open the page with `?lab=` and a name like `net-1`, or without it for the default lab.", action: "Open the default lab" };
}

export function unknownBootModeProblem(message: string): Problem {
  return { title: "Unknown boot mode", message, advice: "Use `?boot=cold` to boot from scratch, or leave it out to restore a snapshot or saved session when possible.", action: "Start normally" };
}

export function badRelayProblem(message: string, fromBuild: boolean): Problem {
  return {
    title: "Bad relay address",
    message,
    advice: fromBuild
      ? "Rebuild with `VITE_UMLAB_RELAY` set to a ws:// or wss:// URL (or unset). Until then, start without a relay: only fetch and your machine's localhost via 10.0.2.2 work then."
      : "Open the page with `?relay=wss://host/path` to use a Wisp relay, `?relay=none` for none, or without `?relay=` for the default.",
    action: fromBuild ? "Start without a relay" : "Start with the default relay setting",
  };
}

/** The page itself was served for a /guest/ address: no Service Worker answered it, so no lab is behind it. */
export function previewWithoutLabProblem(path: string): Problem {
  return {
    title: "Preview without the lab",
    message: `${path} is a preview address: it shows a server inside UML, answered by the lab tab through the preview's Service Worker, which is not installed in this browser yet.`,
    advice: "Open the lab, wait until UML is ready, then open this address again (or use Open preview in the lab's network panel).",
    action: "Open the lab",
  };
}

export function badDohProblem(message: string): Problem {
  return { title: "Bad DNS-over-HTTPS server", message, advice: "Open the page with `?doh=https://…/dns-query`, or without `?doh=`.", action: "Start without it" };
}

export function badDnsProblem(message: string): Problem {
  return { title: "Bad DNS server", message, advice: "Open the page with `?dns=1.1.1.1` (any IPv4 address the relay can reach), or without `?dns=`.", action: "Start without it" };
}

/** Splits advice into plain text and `code` parts, so the view can mark commands up without innerHTML. */
export function adviceParts(advice: string): { text: string; code: boolean }[] {
  return advice
    .split("`")
    .map((text, i) => ({ text, code: i % 2 === 1 }))
    .filter((p) => p.text !== "");
}
