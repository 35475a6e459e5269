// The network panel: the transport, UML's and the host's addresses, the TCP ports UML listens on with
// "Open preview" (a new tab at /guest/<port>/) and "Show here" (the inline preview pane).
import type { NetworkStatus } from "../workers/api.ts";
import { byId, el, setText } from "./dom.ts";
import { addresses, portsNote, previewLine, previewPath, transportLine, type Line, type PreviewState } from "./network-state.ts";
import type { RelaySource } from "./options.ts";

export interface NetworkSnapshot {
  /** The relay this page boots with, whether or not a machine runs. */
  relay: { url: string | undefined; source: RelaySource };
  /** The worker's report; undefined while no machine runs. */
  status: NetworkStatus | undefined;
  /** UML is at its prompt, so the ports below are current. */
  ready: boolean;
  ports: readonly number[];
}

export class NetworkView {
  private readonly transport = byId("network-transport", HTMLElement);
  private readonly umlAddress = byId("uml-address", HTMLElement);
  private readonly hostAddress = byId("host-address", HTMLElement);
  private readonly portList = byId("listening-ports", HTMLUListElement);
  private readonly portsNote = byId("ports-note", HTMLElement);
  private readonly previewStatus = byId("preview-status", HTMLElement);
  private readonly pane = byId("preview-pane", HTMLElement);
  private readonly paneTitle = byId("preview-title", HTMLElement);
  private readonly paneAddress = byId("preview-address", HTMLAnchorElement);
  private readonly frame = byId("preview-frame", HTMLIFrameElement);
  /** The port shown in the pane, if it is open. */
  private inlinePort: number | undefined;
  /** The ports and preview state the list was last built for, so polling does not rebuild it (and lose focus). */
  private shownPorts = "";
  private preview: PreviewState = { state: "starting" };

  constructor() {
    byId("preview-reload", HTMLButtonElement).addEventListener("click", () => {
      if (this.inlinePort !== undefined) this.frame.src = previewPath(this.inlinePort);
    });
    byId("preview-close", HTMLButtonElement).addEventListener("click", () => this.closeInline(true));
    this.pane.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape") return;
      ev.preventDefault();
      this.closeInline(true);
    });
  }

  render(snapshot: NetworkSnapshot): void {
    paint(this.transport, transportLine(snapshot.relay, snapshot.status));
    const { uml, host } = addresses(snapshot.status);
    setText(this.umlAddress, uml);
    setText(this.hostAddress, host);
    const ports = snapshot.ready ? snapshot.ports : [];
    setText(this.portsNote, portsNote(snapshot.ready, ports));
    this.portsNote.hidden = this.portsNote.textContent === "";
    const key = `${this.preview.state}:${ports.join(",")}`;
    if (key !== this.shownPorts) {
      this.shownPorts = key;
      this.portList.replaceChildren(...ports.map((port) => this.portItem(port)));
    }
  }

  setPreview(preview: PreviewState): void {
    this.preview = preview;
    const line = previewLine(preview);
    paint(this.previewStatus, line);
    this.previewStatus.dataset.state = preview.state;
    this.previewStatus.hidden = line.text === "";
    // The list's actions depend on whether previews can work: rebuild it on the next render.
    this.shownPorts = "";
  }

  private portItem(port: number): HTMLLIElement {
    const usable = this.preview.state === "ready";
    const why = usable ? "" : " (previews do not work in this browser; see the note in the network panel)";
    const open = el("a", {
      class: "button small",
      text: "Open preview",
      attrs: { "data-testid": `open-preview-${port}`, "aria-label": `Open a preview of port ${port} in a new tab${why}`, title: `${previewPath(port)} in a new tab${why}` },
    });
    if (usable) {
      open.href = previewPath(port);
      open.target = "_blank";
      open.rel = "noopener";
    } else {
      // A link without href is not focusable or clickable; say it is off rather than hide it.
      open.setAttribute("aria-disabled", "true");
    }
    const inline = el("button", {
      class: "button small",
      text: "Show here",
      attrs: { type: "button", "data-testid": `inline-preview-${port}`, "aria-controls": "preview-pane", "aria-label": `Show a preview of port ${port} in this page${why}` },
    });
    inline.disabled = !usable;
    inline.addEventListener("click", () => this.openInline(port));
    return el("li", { class: "port-item", attrs: { "data-testid": `listening-port-${port}` } }, el("code", { class: "port-number", text: String(port) }), open, inline);
  }

  private openInline(port: number): void {
    this.inlinePort = port;
    const address = previewPath(port);
    setText(this.paneTitle, `Preview of port ${port}`);
    setText(this.paneAddress, address);
    this.paneAddress.href = address;
    this.frame.src = address;
    this.pane.hidden = false;
    this.frame.focus();
  }

  /** `refocus` returns focus to the port's "Show here" button, for keyboard users. */
  private closeInline(refocus: boolean): void {
    const port = this.inlinePort;
    if (port === undefined) return;
    this.inlinePort = undefined;
    this.pane.hidden = true;
    // Unloaded, so the guest page stops running and stops asking UML for more.
    this.frame.src = "about:blank";
    if (refocus) this.portList.querySelector<HTMLButtonElement>(`[data-testid="inline-preview-${port}"]`)?.focus();
  }
}

function paint(node: HTMLElement, line: Line): void {
  setText(node, line.text);
  if (node.dataset.tone !== line.tone) node.dataset.tone = line.tone;
}
