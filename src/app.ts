// Wires the emulator worker, the two terminals and the views together; one boot at a time.
import type {
  BootError,
  BootResult,
  ConsoleId,
  DiskStatus,
  DownloadProgress,
  GuestRequest,
  GuestResponse,
  ImageManifest,
  ImportResult,
  MergeResult,
  KernelFlavour,
  NetworkOptions,
  NetworkStatus,
  Persistence,
  RestartOptions,
  SessionInfo,
  StageEvent,
  StaleDisk,
  StartKind,
  StartMode,
  UmlState,
} from "../workers/api.ts";
import { shouldAutosave, AUTOSAVE_INTERVAL_MS } from "./autosave.ts";
import { applyDownload, applyFailure, applyStage, applyStart, downloadTotals, initialBootState, isSettled, isVisibleStage, STAGE_LABELS, type BootState } from "./boot-state.ts";
import { BootView } from "./boot-view.ts";
import { ConsoleDeck } from "./console-deck.ts";
import { muxKey } from "./console-keys.ts";
import { debounce } from "./debounce.ts";
import { confirmDialog, Modal } from "./dialog.ts";
import { storageLine } from "./disk-status.ts";
import { DiskView } from "./disk-view.ts";
import { byId, el, setText } from "./dom.ts";
import { downloadBlob } from "./download.ts";
import { EmulatorClient, errorText } from "./emulator-client.ts";
import { errorView } from "./error-view.ts";
import { FilesView } from "./files-view.ts";
import { formatBytes, formatWhen } from "./format.ts";
import { startGuestPreview } from "./guest-preview.ts";
import { base64FromBytes, bytesFromHook } from "./hook-bytes.ts";
import { isTabAction, keyAction, tabPosition, type KeyAction } from "./key-actions.ts";
import { KernelView } from "./kernel-view.ts";
import { holdLabLock } from "./lab-lock.ts";
import { MconsoleView } from "./mconsole-view.ts";
import { InstancesView } from "./instances-view.ts";
import { MessageBox } from "./message-box.ts";
import { MuxConsoles } from "./mux-consoles.ts";
import { PREVIEW_PREFIX } from "./network-state.ts";
import { NetworkView } from "./network-view.ts";
import { exchange, serveConnections } from "./stream-port.ts";
import {
  bootModeFromSearch,
  DEFAULT_KERNEL,
  DEFAULT_LAB,
  dohFromSearch,
  relayDnsFromSearch,
  isKernel,
  kernelFromSearch,
  KERNELS,
  labFromSearch,
  manifestUrlFor,
  networkBackendFromSearch,
  relayFromSearch,
  urlWithKernel,
  urlWithout,
  urlWithParam,
  type AddressBootMode,
  type RelaySource,
} from "./options.ts";
import { OutputGate } from "./output-gate.ts";
import { badDnsProblem, badDohProblem, badLabProblem, badRelayProblem, bootProblem, previewWithoutLabProblem, guestProblem, unknownBootModeProblem, unknownKernelProblem, workerProblem, type Problem } from "./problems.ts";
import { currentSession, describeStart } from "./sessions.ts";
import { SessionsView } from "./sessions-view.ts";
import { TerminalPane } from "./terminal-pane.ts";
import type { UmlabTestHook } from "./test-hook.d.ts";
import { currentToolkit, type ToolkitApi } from "./toolkit-api.ts";
import { ToolkitView } from "./toolkit-view.ts";
import { umlPhase } from "./uml-status.ts";
import { UmlStatusView } from "./uml-status-view.ts";

const CONSOLES: readonly ConsoleId[] = ["uml", "host"];
/** A worker that does not stop within this long is replaced rather than waited for. */
const STOP_TIMEOUT_MS = 5000;
const RESIZE_DEBOUNCE_MS = 50;
const CLOCK_TICK_MS = 100;
/** The storage line's "last saved … ago" needs no finer clock. */
const DISK_TICK_MS = 1000;
/** navigator.storage.estimate() walks the origin's storage; commits can be frequent, so ask at most this often. */
const ESTIMATE_INTERVAL_MS = 5000;
const NO_DISK: DiskStatus = { mode: "none", bytes: 0, pending: 0, generation: 0 };
/** How often the network panel asks for UML's listening ports (each ask runs a little shell loop in UML). */
const NETWORK_POLL_MS = 3000;

/** What a boot does besides the kernel: how to start, and work on the idle worker first (reset, export). */
interface BootRequest {
  mode: StartMode;
  /** Runs on the stopped worker before boot(); a failure is shown as `${what} failed` and nothing boots. */
  before?: { what: string; run(client: EmulatorClient): Promise<void> };
}

export class App {
  readonly hook: UmlabTestHook;
  private readonly panes: Record<ConsoleId, TerminalPane>;
  /** Every console's tab and terminal, the extra UML consoles included; split and detach. */
  private readonly deck: ConsoleDeck;
  private readonly mux: MuxConsoles;
  /** The toolkit's calls, always on the current worker. */
  private readonly toolkit: ToolkitApi;
  private readonly umlStatus: UmlStatusView;
  private readonly mconsoleView: MconsoleView;
  private readonly filesView: FilesView;
  private readonly kernelView: KernelView;
  private readonly instancesView: InstancesView;
  private readonly toolkitView: ToolkitView;
  private readonly consoleMessage = new MessageBox("console-message");
  private readonly openConsoleButton = byId("console-open", HTMLButtonElement);
  private readonly bootView: BootView;
  private readonly diskView: DiskView;
  private readonly sessionsView: SessionsView;
  private readonly networkView = new NetworkView();
  private readonly select = byId("kernel-select", HTMLSelectElement);
  private readonly restartButton = byId("restart", HTMLButtonElement);
  private readonly coldBootButton = byId("cold-boot", HTMLButtonElement);
  private readonly saveButton = byId("save-session", HTMLButtonElement);
  private readonly sessionsButton = byId("sessions", HTMLButtonElement);
  private readonly status = byId("status", HTMLElement);
  private readonly notice = byId("notice", HTMLElement);
  private readonly errorSlot = byId("error-slot", HTMLElement);
  /** Console output of the current boot waits here until restored screens (if any) are written. */
  private readonly gate = new OutputGate<ConsoleId>((id, bytes) => this.panes[id].write(bytes));
  private client: EmulatorClient | undefined;
  /** Bumped per boot; reports from older boots are dropped. */
  private generation = 0;
  /** From the start of boot() until its result: disk operations that would race a boot wait for it. */
  private bootPending = false;
  private state: BootState = initialBootState();
  private kernel: KernelFlavour = DEFAULT_KERNEL;
  private lab = DEFAULT_LAB;
  /** The address's start mode, used by Restart and Retry too; Cold boot and the sessions list override it. */
  private addressMode: AddressBootMode = "auto";
  /** Undefined until the lab's lock is settled: this tab then writes the disk, or opens it read-only. */
  private persistence: Persistence | undefined;
  private opening = false;
  /** Set when the user chose to keep booting a stale disk's own release; cleared when the disk is replaced. */
  private useStoredRelease = false;
  /** The session the current boot resumes, when the page knows it, for "Resumed session saved …". */
  private resumedSavedAt: number | undefined;
  /** The latest session list the worker gave, to name a resumed session's time. */
  private knownSessions: SessionInfo[] = [];
  private disk: DiskStatus | undefined;
  private estimate: { usage?: number; quota?: number } | undefined;
  private estimateAt = 0;
  private persisted: boolean | undefined;
  private persistAsked = false;
  /** The user typed since the last session save began; autosave skips untouched machines. */
  private dirty = false;
  private saving = false;
  /** A disk export or import runs. */
  private diskBusy = false;
  /** The latest worker time and when it arrived, to run the active stage's clock between reports. */
  private clock = { at: 0, page: 0 };
  /** UML's own state as the worker last reported it; cleared when a boot starts. */
  private umlState: UmlState | undefined;
  /** Channels openConsole() returned whose tab has not opened yet: shown once it does. */
  private readonly awaitedConsoles = new Set<number>();
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The Wisp relay this page boots with (?relay=, VITE_UMLAB_RELAY, the dev server's), and the DoH server. */
  private relay: { url: string | undefined; source: RelaySource } = { url: undefined, source: "none" };
  private dohUrl: string | undefined;
  /** ?dns=: a DNS server reached over the relay's UDP. */
  private relayDns: string | undefined;
  /** The worker's latest network report and UML's listening ports; cleared when a boot starts. */
  private networkStatus: NetworkStatus | undefined;
  private listeningPorts: number[] = [];
  private networkPolling = false;

  constructor() {
    const pane = (id: ConsoleId): TerminalPane =>
      new TerminalPane(byId(`screen-${id}`, HTMLElement), {
        input: (bytes) => {
          this.dirty = true;
          this.client?.sendInput(id, bytes);
        },
        key: (ev) => this.onTerminalKey(id, ev),
      });
    this.panes = { uml: pane("uml"), host: pane("host") };
    this.deck = new ConsoleDeck(
      byId("console-tabs", HTMLElement),
      byId("term-stack", HTMLElement),
      { split: byId("console-split", HTMLButtonElement), splitRight: byId("console-split-right", HTMLSelectElement), detach: byId("console-detach", HTMLButtonElement), empty: byId("term-empty", HTMLElement) },
      { closed: (key) => this.mux.forget(key) },
    );
    for (const id of CONSOLES) {
      const tab = byId(`tab-${id}`, HTMLButtonElement);
      this.deck.add({
        key: id,
        title: tab.textContent,
        pane: this.panes[id],
        tab,
        panel: byId(`term-${id}`, HTMLElement),
        resize: (cols, rows) => {
          if (!this.client) return false;
          this.client.sendResize(id, cols, rows);
          return true;
        },
      });
    }
    this.mux = new MuxConsoles(this.deck, {
      send: (message) => {
        const client = this.usableClient();
        client?.sendMux(message);
        return client !== undefined;
      },
      key: (key, ev) => this.onTerminalKey(key, ev),
      typed: () => {
        this.dirty = true;
      },
      changed: () => this.renderUml(),
      opened: (channel) => {
        if (this.awaitedConsoles.delete(channel)) this.deck.activate(muxKey(channel));
      },
    });
    byId("console-tabs", HTMLElement).closest(".console-bar")?.after(this.consoleMessage.element);
    this.openConsoleButton.addEventListener("click", () => void this.openConsole().catch(() => undefined));

    this.toolkit = currentToolkit(() => this.usableClient());
    this.umlStatus = new UmlStatusView(byId("uml-state", HTMLElement), this.deck, {
      restart: () => this.restartUml({}),
      resume: async () => {
        try {
          const result = await this.mconsoleView.run("go", 0);
          return result.ok ? undefined : result.text;
        } catch (err) {
          return errorText(err);
        }
      },
    });
    this.mconsoleView = new MconsoleView(this.toolkit);
    this.filesView = new FilesView(this.toolkit, {
      reveal: () => this.toolkitView.show("files"),
      copyText: (text) => this.copyText(text),
      confirmDelete: (path) =>
        confirmDialog({ title: `Delete ${path}?`, body: ["It goes from the host's /lab, so UML's hostfs no longer sees it either."], ok: "Delete", danger: true, returnFocus: () => this.filesView.focus() }),
    });
    this.kernelView = new KernelView(this.toolkit, KERNELS, { boot: (kernel, cmdline) => this.confirmRestartUml(kernel, cmdline) });
    this.instancesView = new InstancesView(this.toolkit, {
      showConsole: (channel) => {
        if (this.deck.has(muxKey(channel))) this.deck.activate(muxKey(channel));
      },
    });
    this.toolkitView = new ToolkitView(
      { mconsole: this.mconsoleView.element, files: this.filesView.element, kernel: this.kernelView.element, switch: this.instancesView.element },
      {
        opened: (name) => {
          if (name === "files") void this.filesView.refresh();
          else if (name === "kernel") void this.kernelView.opened();
        },
      },
    );

    this.bootView = new BootView(() => this.restart());
    byId("boot-slot", HTMLElement).replaceWith(this.bootView.element);
    this.diskView = new DiskView({
      exportDisk: () => void this.exportDisk(),
      importDisk: (file) => void this.importDisk(file),
      mergeDisk: () => void this.mergeDisk(),
      resetDisk: () => void this.resetDisk(),
    });
    this.sessionsView = new SessionsView(this.sessionsButton, byId("sessions-panel", HTMLElement), {
      opened: () => void this.refreshSessions(),
      resume: (session) => this.resumeSession(session),
      remove: (session) => void this.deleteSession(session),
    });

    for (const k of KERNELS) this.select.append(el("option", { text: k, attrs: { value: k } }));
    this.select.addEventListener("change", () => this.markPendingKernel());
    this.restartButton.addEventListener("click", () => this.restart());
    this.coldBootButton.addEventListener("click", () => this.coldBoot());
    this.saveButton.addEventListener("click", () => this.saveFromUser());

    // Page shortcuts also work while focus is outside the terminals; inside, the terminal's handler already acted.
    window.addEventListener("keydown", (ev) => {
      if (ev.defaultPrevented) return;
      const action = keyAction(ev);
      if (action !== undefined && (isTabAction(action) || action === "save-session")) {
        ev.preventDefault();
        this.perform(action, this.deck.current ?? "uml");
      }
    });
    // Leaving the tab (switching away, closing, mobile backgrounding) may be the last chance to store work.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.leaving();
      else void this.pollNetwork();
    });
    window.addEventListener("pagehide", () => this.leaving());

    const refit = debounce(() => this.deck.fitAll(false), RESIZE_DEBOUNCE_MS);
    new ResizeObserver(refit).observe(byId("term-stack", HTMLElement));
    // Cell size depends on the web font, which may arrive after the first fit.
    void document.fonts.ready.then(() => this.deck.fitAll(false));
    setInterval(() => this.tick(), CLOCK_TICK_MS);
    setInterval(() => this.renderDisk(), DISK_TICK_MS);
    setInterval(() => this.autosave(), AUTOSAVE_INTERVAL_MS);
    setInterval(() => void this.pollNetwork(), NETWORK_POLL_MS);
    startGuestPreview({
      guestHttp: (port, request) => this.guestHttp(port, request),
      changed: (state) => this.networkView.setPreview(state),
    });

    this.hook = {
      stage: "idle",
      stageTimes: {},
      bootError: undefined,
      downloadedBytes: 0,
      readConsole: (id) => this.panes[id].readAll(),
      typeInto: (id, text) => this.panes[id].type(text),
      consoleSize: (id) => this.panes[id].size,
      lab: this.lab,
      startKind: undefined,
      preparedEarly: false,
      persistence: undefined,
      diskStatus: () => this.usableClient()?.disk() ?? Promise.resolve({ ...NO_DISK }),
      flushDisk: () => this.flushDisk(),
      saveSession: (kind = "manual") => this.saveSession(kind),
      listSessions: () => this.usableClient()?.listSessions(this.lab) ?? Promise.resolve([]),
      network: () => this.usableClient()?.network() ?? Promise.resolve(undefined),
      forwardPort: async (port, request) => {
        const client = this.usableClient();
        if (!client) throw new Error("the lab is not running");
        return new TextDecoder().decode(await exchange(await client.forwardPort(port), new TextEncoder().encode(request)));
      },
      serveLoopback: async (port, reply) => {
        const client = this.usableClient();
        if (!client) throw new Error("the lab is not running");
        const channel = new MessageChannel();
        serveConnections(channel.port1, () => reply);
        await client.serveLoopback(port, channel.port2);
      },
      mconsole: (command, instance) => this.mconsoleView.run(command, instance ?? 0),
      umlState: () => this.toolkit.uml(),
      instances: async () => (await this.toolkit.uml())?.instances ?? [],
      openConsole: () => this.openConsole(),
      startInstance: (options) => this.toolkit.startInstance(options),
      stopInstance: (n) => this.toolkit.stopInstance(n),
      consoleTabs: () => this.mux.tabs(),
      readMuxConsole: (channel) => this.mux.read(channel),
      typeIntoMux: (channel, text) => this.mux.type(channel, text),
      muxConsoleSize: (channel) => this.mux.size(channel),
      activeConsole: () => this.deck.current,
      hotDisks: () => this.mconsoleView.hotDisks(),
      listShared: () => this.toolkit.listShared(),
      putShared: async (path, bytes) => {
        await this.toolkit.putShared(path, bytesFromHook(bytes));
        if (this.toolkitView.current === "files") void this.filesView.refresh();
      },
      readShared: async (path) => base64FromBytes(await this.toolkit.readShared(path)),
      deleteShared: async (path) => {
        await this.toolkit.deleteShared(path);
        if (this.toolkitView.current === "files") void this.filesView.refresh();
      },
      uploadKernel: (name, bytes) => this.kernelView.upload(name, bytesFromHook(bytes)),
      kernelConfig: (kernel) => this.toolkit.kernelConfig(kernel),
      checkCmdline: (text) => this.toolkit.checkCmdline(text),
      restartUml: (options = {}) => this.restartUml(options),
    };
    this.deck.activate("uml", false);
    this.syncControls();
  }

  /** Reads the address (lab, start mode, relay, DoH, kernel) and opens the lab, or explains what in it is wrong. */
  start(): void {
    // A static host without the preview's Service Worker may serve this page for /guest/… itself.
    if (location.pathname.startsWith(PREVIEW_PREFIX)) return this.refuse(previewWithoutLabProblem(location.pathname), () => location.assign("/"));
    const lab = labFromSearch(location.search);
    if (!lab.ok) {
      return this.refuse(badLabProblem(lab.message), () => {
        history.replaceState(history.state, "", urlWithout(location.href, "lab"));
        this.start();
      });
    }
    this.lab = this.hook.lab = lab.lab;
    this.renderDisk();
    const mode = bootModeFromSearch(location.search);
    if (!mode.ok) {
      return this.refuse(unknownBootModeProblem(mode.message), () => {
        history.replaceState(history.state, "", urlWithout(location.href, "boot"));
        this.start();
      });
    }
    this.addressMode = mode.mode;
    const relay = relayFromSearch(location.search, { buildRelay: import.meta.env.VITE_UMLAB_RELAY, dev: import.meta.env.DEV, pageUrl: location.href });
    if (!relay.ok) {
      const fromAddress = new URLSearchParams(location.search).has("relay");
      return this.refuse(badRelayProblem(relay.message, !fromAddress), () => {
        // Only on the user's say-so: a relay that was asked for is never silently dropped.
        history.replaceState(history.state, "", fromAddress ? urlWithout(location.href, "relay") : urlWithParam(location.href, "relay", "none"));
        this.start();
      });
    }
    this.relay = { url: relay.relayUrl, source: relay.source };
    const doh = dohFromSearch(location.search);
    if (!doh.ok) {
      return this.refuse(badDohProblem(doh.message), () => {
        history.replaceState(history.state, "", urlWithout(location.href, "doh"));
        this.start();
      });
    }
    this.dohUrl = doh.dohUrl;
    const dns = relayDnsFromSearch(location.search);
    if (!dns.ok) {
      return this.refuse(badDnsProblem(dns.message), () => {
        history.replaceState(history.state, "", urlWithout(location.href, "dns"));
        this.start();
      });
    }
    this.relayDns = dns.relayDns;
    this.renderNetwork();
    const choice = kernelFromSearch(location.search);
    if (!choice.ok) {
      this.select.value = DEFAULT_KERNEL;
      return this.refuse(unknownKernelProblem(choice.message, DEFAULT_KERNEL), () => this.restart());
    }
    this.select.value = choice.kernel;
    void this.open(choice.kernel);
  }

  /** Stops the machine and starts the kernel chosen in the header, remembering it in the address. */
  restart(): void {
    const kernel = isKernel(this.select.value) ? this.select.value : DEFAULT_KERNEL;
    history.replaceState(history.state, "", urlWithKernel(location.href, kernel));
    if (this.persistence === undefined) void this.open(kernel);
    else void this.boot(kernel, { mode: this.addressMode });
  }

  /** Boots from scratch with the disk as it is, whatever snapshot or session could be restored. */
  private coldBoot(): void {
    if (this.persistence === undefined) return;
    const kernel = isKernel(this.select.value) ? this.select.value : DEFAULT_KERNEL;
    history.replaceState(history.state, "", urlWithKernel(location.href, kernel));
    void this.boot(kernel, { mode: "cold" });
  }

  /** Settles who writes the lab's disk (Web Locks: one writer per lab), then boots. */
  private async open(kernel: KernelFlavour): Promise<void> {
    if (this.opening || this.persistence !== undefined) return;
    this.opening = true;
    this.clearProblem();
    this.setStatus("Opening the lab…", "busy");
    // navigator.locks is missing outside secure contexts; with no way to coordinate, this tab writes.
    const locks = navigator.locks as LockManager | undefined;
    let persistence: Persistence = "persistent";
    if (locks) {
      // A lock manager that refuses outright (e.g. an opaque origin) cannot coordinate either.
      const held = await holdLabLock(locks, this.lab, { wait: false }).catch(() => true);
      if (!held) persistence = await this.askAboutOtherTab(locks);
    }
    this.opening = false;
    this.persistence = this.hook.persistence = persistence;
    this.renderDisk();
    void this.boot(kernel, { mode: this.addressMode });
  }

  /** The lab is open in another tab: open it read-only now, or wait for that tab to close and then write. */
  private askAboutOtherTab(locks: LockManager): Promise<Persistence> {
    this.setStatus("Lab open in another tab", "warn");
    return new Promise<Persistence>((resolve) => {
      let waiting: AbortController | undefined;
      const readOnly = (): void => {
        waiting?.abort();
        modal.close();
        resolve("ephemeral");
      };
      const wait = (): void => {
        if (waiting) return;
        waiting = new AbortController();
        modal.setBody(
          "Waiting for the other tab… This tab opens the lab as soon as the other one closes.",
          "You can still open it now without saving instead.",
        );
        const button = modal.button("lock-wait");
        if (button) button.disabled = true;
        this.setStatus("Waiting for the other tab…", "warn");
        holdLabLock(locks, this.lab, { wait: true, signal: waiting.signal }).then(
          () => {
            modal.close();
            resolve("persistent");
          },
          // Aborted: the user chose read-only, which already resolved.
          () => undefined,
        );
      };
      const modal: Modal = new Modal({
        testId: "lock-dialog",
        title: "This lab is open in another tab",
        body: [
          `Only one tab at a time can save the lab “${this.lab}”. Another tab of this browser has it open.`,
          "Open it here without saving (changes stay in this tab's memory), or take over when the other tab closes.",
        ],
        actions: [
          { label: "Open without saving", testId: "lock-readonly", onClick: readOnly },
          { label: "Take over when the other tab closes", testId: "lock-wait", tone: "primary", autofocus: true, onClick: wait },
        ],
        // Backing out must still leave a usable page; read-only is the choice that cannot lose anything.
        onCancel: readOnly,
        returnFocus: () => this.focusTerminal(),
      });
      modal.open();
    });
  }

  private async boot(kernel: KernelFlavour, request: BootRequest): Promise<void> {
    const persistence = this.persistence;
    if (persistence === undefined) return;
    const gen = ++this.generation;
    this.bootPending = true;
    this.kernel = kernel;
    this.markPendingKernel();
    this.clearProblem();
    this.state = initialBootState();
    this.clock = { at: 0, page: performance.now() };
    const { mode } = request;
    this.resumedSavedAt = typeof mode === "object" ? this.knownSessions.find((s) => s.id === mode.session)?.savedAt : undefined;
    this.dirty = false;
    this.networkStatus = undefined;
    this.listeningPorts = [];
    this.renderNetwork();
    // The old UML and its extra consoles go with the old machine; their tabs keep the scrollback.
    this.umlState = undefined;
    this.mux.endAll();
    Object.assign(this.hook, { stage: "idle", stageTimes: {}, bootError: undefined, downloadedBytes: 0, startKind: undefined, preparedEarly: false } satisfies Partial<UmlabTestHook>);
    this.bootView.reset();
    this.render();
    this.syncControls();
    this.setStatus(`Starting ${kernel}…`, "busy");

    const client = await this.clientFor(gen);
    if (!client) return;
    if (request.before) {
      const { what, run } = request.before;
      try {
        await run(client);
      } catch (err) {
        if (gen === this.generation) this.beforeFailed(what, errorText(err));
        return;
      }
      if (gen !== this.generation) return;
    }
    // Cleared only now, so the old machine's last words do not land in the new boot's screen.
    for (const id of CONSOLES) this.panes[id].reset();
    // Held until the worker says how it starts: a restore's saved screens must come before its live output.
    this.gate.hold();
    let result: BootResult;
    try {
      result = await client.boot(
        {
          manifestUrl: manifestUrlFor(location.href),
          kernel,
          lab: this.lab,
          mode,
          persistence,
          network: this.networkOptions(),
          ...(this.useStoredRelease ? { useStoredRelease: true } : {}),
        },
        {
          stage: (event) => {
            if (gen === this.generation) this.onStage(event);
          },
          download: (progress) => {
            if (gen === this.generation) this.onDownload(progress);
          },
          start: (kind, reason) => {
            if (gen === this.generation) this.onStart(kind, reason);
          },
          disk: (status) => {
            if (gen === this.generation) this.onDisk(status);
          },
          uml: (state) => {
            if (gen === this.generation) this.onUml(state);
          },
        },
      );
    } catch (err) {
      if (gen !== this.generation) return;
      this.bootPending = false;
      this.gate.release();
      if (!client.isBroken) this.failBoot({ kind: "emulator", message: errorText(err) });
      return;
    }
    if (gen !== this.generation) return;
    this.bootPending = false;
    if (!result.ok) {
      this.gate.release();
      if (result.error.kind === "stale-disk" && result.error.stale) this.staleDisk(kernel, result.error, result.error.stale);
      else this.failBoot(result.error);
      this.syncControls();
      return;
    }
    this.onStart(result.start, "");
    this.hook.preparedEarly = result.preparedEarly === true;
    // A cold boot has nothing to restore: the terminals were cleared above.
    const screens = result.start === "cold" ? undefined : result.screens;
    this.gate.release(() => {
      for (const id of CONSOLES) {
        const screen = screens?.[id];
        if (screen !== undefined) this.panes[id].restore(screen);
      }
    });
    this.describeKernels(result.manifest);
    // A guest failure reported while boot() was still running was held back until now.
    if (this.state.failed !== undefined) this.guestFailed(this.state.failed);
    this.deck.fitAll(true);
    this.syncControls();
    void this.afterBoot(gen, client, result.start);
  }

  /** Storage facts that only matter once a machine runs: the disk's status, quota, the persist() grant. */
  private async afterBoot(gen: number, client: EmulatorClient, start: StartKind): Promise<void> {
    if (this.persistence === "persistent" && !this.persistAsked) {
      this.persistAsked = true;
      const storage = navigator.storage as StorageManager | undefined;
      storage?.persist().then(
        (granted) => {
          this.persisted = granted;
          this.renderDisk();
        },
        () => undefined,
      );
    }
    this.refreshEstimate(true);
    try {
      const status = await client.disk();
      if (gen === this.generation) this.onDisk(status);
      // "auto" resumed a session without saying which: the newest one taken with this disk is it.
      if (start === "resume" && this.resumedSavedAt === undefined) {
        const sessions = await client.listSessions(this.lab);
        this.knownSessions = sessions;
        if (gen !== this.generation) return;
        this.resumedSavedAt = currentSession(sessions)?.savedAt;
        this.render();
      }
    } catch {
      // Informational only; the worker reports real disk trouble through the observer.
    }
  }

  /** The worker to boot on: the current one once stopped, or a fresh one if it is busy, broken or stuck. */
  private async clientFor(gen: number): Promise<EmulatorClient | undefined> {
    const current = this.client;
    // A boot still in flight would carry on after stop(); only a fresh worker is sure to be clean.
    if (current && !current.isBroken && !current.isBooting) {
      const stopped = await withTimeout(current.stop(), STOP_TIMEOUT_MS).then(
        () => true,
        () => false,
      );
      if (gen !== this.generation) return undefined;
      if (stopped && this.client === current) return current;
    }
    return this.newClient();
  }

  private newClient(): EmulatorClient {
    this.client?.terminate();
    const client: EmulatorClient = new EmulatorClient({
      output: (id, bytes) => {
        if (this.client === client) this.gate.push(id, bytes);
      },
      failed: (message) => {
        if (this.client === client) this.workerFailed(message);
      },
      mux: (message) => {
        if (this.client === client) this.mux.receive(message);
      },
    });
    this.client = client;
    this.mux.endAll();
    this.deck.forgetSizes();
    this.deck.fitAll(true);
    return client;
  }

  /** The worker for calls that do not boot; undefined when there is none that works. */
  private usableClient(): EmulatorClient | undefined {
    return this.client && !this.client.isBroken ? this.client : undefined;
  }

  private onStage(event: StageEvent): void {
    this.state = applyStage(this.state, event);
    this.clock = { at: event.at, page: performance.now() };
    this.hook.stage = event.stage;
    this.hook.stageTimes = { ...this.state.stageTimes };
    if (event.stage === "ready") {
      this.setStatus(`${this.kernel} kernel ready`, "good");
      this.deck.activate("uml");
      void this.pollNetwork();
    } else if (event.stage === "halted") {
      this.setStatus("UML halted", "warn");
    } else if (event.stage === "error") {
      // While boot() runs, its result names the failure better; wait for it.
      if (!this.client?.isBooting && this.hook.bootError === undefined) this.guestFailed(event.detail ?? "boot failed");
    } else if (isVisibleStage(event.stage)) {
      this.setStatus(`${this.kernel} · ${STAGE_LABELS[event.stage]}…`, "busy");
    }
    this.render();
    this.syncControls();
    this.renderNetwork();
  }

  private onStart(kind: StartKind, reason: string): void {
    this.state = applyStart(this.state, kind, reason);
    this.hook.startKind = kind;
    // A cold boot restores no screens, so its output may flow at once.
    if (kind === "cold") this.gate.release();
    this.render();
  }

  private onDownload(progress: DownloadProgress): void {
    this.state = applyDownload(this.state, progress);
    this.hook.downloadedBytes = downloadTotals(this.state).loaded;
    this.render();
  }

  private onDisk(status: DiskStatus): void {
    this.disk = status;
    this.renderDisk();
    this.refreshEstimate(false);
  }

  private failBoot(error: BootError): void {
    this.hook.bootError = error;
    this.hook.stage = "error";
    this.stopClock(error.message);
    this.setStatus("Boot failed", "bad");
    this.showProblem(bootProblem(error));
    this.renderUml();
  }

  private guestFailed(detail: string): void {
    this.hook.bootError = { kind: "emulator", message: detail };
    this.hook.stage = "error";
    this.setStatus("Boot failed", "bad");
    this.showProblem(guestProblem(detail));
    this.renderUml();
  }

  private workerFailed(message: string): void {
    this.bootPending = false;
    this.gate.release();
    this.hook.bootError = { kind: "emulator", message };
    this.hook.stage = "error";
    this.stopClock(message);
    this.setStatus("Emulator failed", "bad");
    this.showProblem(workerProblem(message));
    this.syncControls();
  }

  /** A reset or export before a boot failed: nothing boots, and Retry boots the disk as it now is. */
  private beforeFailed(what: string, message: string): void {
    this.bootPending = false;
    // Output a superseded boot left held belongs to no machine that runs now.
    this.gate.drop();
    this.gate.release();
    this.hook.stage = "error";
    this.stopClock(message);
    this.setStatus(`${what} failed`, "bad");
    this.showProblem({ title: `${what} failed`, message, advice: "The machine was stopped. Press Retry to boot the lab's disk as it is now.", action: "Retry" });
    this.syncControls();
  }

  /** The stored disk belongs to another image release: never boot this release on it; let the user choose. */
  private staleDisk(kernel: KernelFlavour, error: BootError, stale: StaleDisk): void {
    this.hook.bootError = error;
    this.hook.stage = "error";
    this.stopClock(error.message);
    this.setStatus("Disk from an older release", "warn");
    const built = Date.parse(stale.builtAt);
    const when = Number.isNaN(built) ? stale.builtAt : formatWhen(built, Date.now());
    const modal: Modal = new Modal({
      testId: "stale-dialog",
      title: "This disk was made for an older image release",
      body: [
        `The disk stored for lab “${this.lab}” (${formatBytes(stale.bytes)}) was made with the image release built ${when}. The page now serves a newer release, and the disk cannot be booted on it.`,
        stale.releaseCached
          ? "The old release is still in this browser's cache, so you can keep using it, or export the disk and start fresh on the new release."
          : "The old release is no longer in this browser's cache, so it cannot boot again. Export the disk to keep its files, and start fresh on the new release.",
      ],
      actions: [
        {
          label: "Not now",
          testId: "stale-cancel",
          onClick: () => {
            modal.close();
            this.staleCancelled(error);
          },
        },
        {
          label: "Keep using the old image",
          testId: "stale-keep",
          disabled: !stale.releaseCached,
          ...(stale.releaseCached ? {} : { title: "The old release's files are no longer cached in this browser" }),
          onClick: () => {
            modal.close();
            this.useStoredRelease = true;
            void this.boot(kernel, { mode: this.addressMode });
          },
        },
        {
          label: "Export the disk and start fresh",
          testId: "stale-export",
          tone: "primary",
          autofocus: true,
          onClick: () => {
            modal.close();
            void this.boot(kernel, {
              mode: "auto",
              before: {
                what: "Export and reset",
                run: async (client) => {
                  await this.exportWith(client);
                  await client.resetDisk(this.lab);
                  this.useStoredRelease = false;
                },
              },
            });
          },
        },
      ],
      onCancel: () => this.staleCancelled(error),
      returnFocus: () => this.focusTerminal(),
    });
    modal.open();
  }

  /** Backing out of the stale-disk choice leaves the explanation and a Retry that asks again. */
  private staleCancelled(error: BootError): void {
    this.setStatus("Not started", "bad");
    this.showProblem(bootProblem(error));
  }

  /** Ends the running stage's clock on failures the worker did not report as a stage. */
  private stopClock(detail: string): void {
    this.state = applyFailure(this.state, this.now(), detail);
    this.render();
  }

  /** Shows why the page cannot start yet; the problem's button fixes what it can and tries again. */
  private refuse(problem: Problem, action: () => void): void {
    this.setStatus("Not started", "bad");
    this.showProblem(problem, action);
  }

  private showProblem(problem: Problem, action: () => void = () => this.restart()): void {
    this.errorSlot.replaceChildren(errorView(problem, action));
  }

  private clearProblem(): void {
    this.errorSlot.replaceChildren();
  }

  // Network

  private networkOptions(): NetworkOptions {
    const backend = networkBackendFromSearch(location.search);
    return { ...(this.relay.url ? { relayUrl: this.relay.url } : {}), ...(this.dohUrl ? { dohUrl: this.dohUrl } : {}), ...(this.relayDns ? { relayDns: this.relayDns } : {}), ...(backend === "v86-fetch" ? { backend } : {}) };
  }

  /** Asks the worker for the network's state and UML's ports, only while UML is up and the page is seen. */
  private async pollNetwork(): Promise<void> {
    const client = this.usableClient();
    if (!client || this.networkPolling || this.hook.stage !== "ready" || document.visibilityState !== "visible") return;
    this.networkPolling = true;
    const gen = this.generation;
    try {
      // A UML too busy to answer keeps the ports it had: the list must not flicker to "none yet".
      const [status, ports] = await Promise.all([client.network(), client.listeningPorts().catch(() => this.listeningPorts)]);
      if (gen !== this.generation || this.client !== client) return;
      this.networkStatus = status;
      this.listeningPorts = ports;
      this.renderNetwork();
    } catch {
      // Informational: the next poll asks again, and a dead worker is reported by the client itself.
    } finally {
      this.networkPolling = false;
    }
  }

  private renderNetwork(): void {
    this.networkView.render({ relay: this.relay, status: this.networkStatus, ready: this.hook.stage === "ready", ports: this.listeningPorts });
  }

  /** A request the preview Service Worker forwarded: answered by this tab's UML, or refused with the reason. */
  private guestHttp(port: number, request: GuestRequest): { response: Promise<GuestResponse> } | { unavailable: string } {
    const client = this.usableClient();
    if (!client || this.hook.stage === "idle") return { unavailable: "no machine is running in the lab tab" };
    if (this.hook.stage !== "ready") return { unavailable: `UML is not ready in the lab tab (stage: ${this.hook.stage})` };
    return { response: client.guestHttp(port, request) };
  }

  // Sessions

  private saveFromUser(): void {
    this.saveSession("manual").catch((err: unknown) => this.diskView.showMessage(`Saving the session failed: ${errorText(err)}`));
  }

  /** Saves RAM, disk and both screens as one session; shared by the button, Ctrl+Shift+S, autosave and the hook. */
  private async saveSession(kind: "manual" | "auto"): Promise<SessionInfo> {
    const client = this.usableClient();
    if (!client) throw new Error("No machine is running.");
    if (this.persistence !== "persistent") throw new Error("This tab is read-only: the lab is open in another tab.");
    if (this.hook.stage !== "ready") throw new Error("A session can be saved once the machine is ready.");
    if (this.saving) throw new Error("A session is already being saved.");
    this.saving = true;
    // Cleared at the start, so typing during the save counts for the next one.
    const wasDirty = this.dirty;
    this.dirty = false;
    this.syncControls();
    if (kind === "manual") this.flash("Saving session…");
    try {
      const info = await client.saveSession({ kind, screens: this.screens() });
      if (kind === "manual") this.flash(`Session saved (${formatBytes(info.bytes)})`);
      if (this.sessionsView.isOpen) void this.refreshSessions();
      client.disk().then(
        (status) => {
          if (this.client === client) this.onDisk(status);
        },
        () => undefined,
      );
      return info;
    } catch (err) {
      this.dirty ||= wasDirty;
      throw err;
    } finally {
      this.saving = false;
      this.syncControls();
    }
  }

  private screens(): Record<ConsoleId, string> {
    return { uml: this.panes.uml.serialize(), host: this.panes.host.serialize() };
  }

  private autosave(): void {
    if (!shouldAutosave({ stage: this.hook.stage, persistence: this.persistence, dirty: this.dirty, saving: this.saving })) return;
    this.saveSession("auto").catch((err: unknown) => this.diskView.showMessage(`Autosave failed: ${errorText(err)}`));
  }

  /** The tab is being hidden or closed: commit the disk now and keep a session if there is new work. */
  private leaving(): void {
    const client = this.usableClient();
    if (!client || this.persistence !== "persistent") return;
    client.flushDisk().then(
      (status) => {
        if (this.client === client) this.onDisk(status);
      },
      (err: unknown) => this.diskView.showMessage(`Saving the disk failed: ${errorText(err)}`),
    );
    this.autosave();
  }

  private async flushDisk(): Promise<DiskStatus> {
    const client = this.usableClient();
    if (!client) return { ...NO_DISK };
    const status = await client.flushDisk();
    if (this.client === client) this.onDisk(status);
    return status;
  }

  private async refreshSessions(): Promise<void> {
    const client = this.usableClient();
    if (!client) return this.sessionsView.showError("No emulator is running.");
    try {
      this.knownSessions = await client.listSessions(this.lab);
      this.sessionsView.render(this.knownSessions, Date.now(), this.persistence !== "persistent");
    } catch (err) {
      this.sessionsView.showError(`Could not list the sessions: ${errorText(err)}`);
    }
  }

  /** A session holds RAM of the kernel it ran, so it resumes with that kernel whatever the header says. */
  private resumeSession(session: SessionInfo): void {
    this.select.value = session.kernel;
    history.replaceState(history.state, "", urlWithKernel(location.href, session.kernel));
    void this.boot(session.kernel, { mode: { session: session.id } });
  }

  private async deleteSession(session: SessionInfo): Promise<void> {
    const client = this.usableClient();
    if (!client || this.persistence !== "persistent") return;
    try {
      await client.deleteSession(session.id);
    } catch (err) {
      this.diskView.showMessage(`Deleting the session failed: ${errorText(err)}`);
    }
    await this.refreshSessions();
  }

  // Disk

  private async resetDisk(): Promise<void> {
    if (this.persistence !== "persistent") return;
    const ok = await confirmDialog({
      title: "Reset this lab's disk?",
      body: [
        `Every change on the disk of lab “${this.lab}”, and all its saved sessions, will be deleted. The lab then starts again from the pristine image.`,
        "Export the disk first if you want to keep it.",
      ],
      ok: "Reset disk",
      danger: true,
      returnFocus: () => this.focusTerminal(),
    });
    if (!ok) return;
    this.diskView.clearMessage();
    this.sessionsView.close(false);
    // "auto" on a pristine disk restores the pre-booted snapshot.
    void this.boot(this.kernel, {
      mode: "auto",
      before: {
        what: "Reset",
        run: async (client) => {
          await client.resetDisk(this.lab);
          this.useStoredRelease = false;
          this.knownSessions = [];
          this.flash("Disk reset");
        },
      },
    });
  }

  /** Folds the COW into the lab's private image with uml_moo on the host; UML restarts from it. */
  private async mergeDisk(): Promise<void> {
    const client = this.usableClient();
    if (!client || this.persistence !== "persistent") return;
    if (this.hook.stage !== "ready") return this.diskView.showMessage("Merge needs UML running at its prompt; try again when it is ready.");
    const ok = await confirmDialog({
      title: "Merge the disk?",
      body: [
        "UML shuts down, then the host runs uml_moo to fold your changes (the COW file) into this lab's private copy of the root image. UML then boots again from that image, with an empty COW.",
        "Running programs end, and sessions saved before the merge can no longer be resumed. Export still gives one COW file against the release's image.",
      ],
      ok: "Merge",
      returnFocus: () => this.focusTerminal(),
    });
    if (!ok) return;
    this.diskView.clearMessage();
    this.setDiskBusy(true);
    this.setStatus("Merging the disk with uml_moo…", "busy");
    let result: MergeResult;
    try {
      result = await client.mergeDisk(this.lab);
    } catch (err) {
      result = { ok: false, message: errorText(err) };
    } finally {
      this.setDiskBusy(false);
    }
    if (!result.ok) {
      this.setStatus("Merge failed", "warn");
      return this.diskView.showMessage(`Merge failed: ${result.message}`);
    }
    this.knownSessions = [];
    await this.refreshSessions();
    this.diskView.showMessage(
      `Merged in ${(result.ms / 1000).toFixed(1)} s: uml_moo folded ${formatBytes(result.bytesBefore)} of COW into the private image ${result.backingFile} (merge ${result.merges}); UML is booting from it with an empty COW.`,
      "info",
    );
  }

  private async exportDisk(): Promise<void> {
    const client = this.usableClient();
    if (!client) return this.diskView.showMessage("Export failed: no emulator is running.");
    this.setDiskBusy(true);
    try {
      await this.exportWith(client);
      this.flash("Disk exported");
    } catch (err) {
      this.diskView.showMessage(`Export failed: ${errorText(err)}`);
    } finally {
      this.setDiskBusy(false);
    }
  }

  private async exportWith(client: EmulatorClient): Promise<void> {
    const { blob, fileName } = await client.exportDisk(this.lab);
    downloadBlob(blob, fileName);
  }

  /** Replaces the lab's disk with the file and cold-boots it; a refused file changes nothing. */
  private async importDisk(file: File): Promise<void> {
    if (this.persistence !== "persistent") return this.diskView.showMessage("Import is off in a read-only tab: the lab is open in another tab.");
    if (this.diskBusy) return this.diskView.showMessage("Another disk operation is running; try again when it has finished.");
    // Importing on a worker that is still booting would race that boot.
    if (this.bootPending) return this.diskView.showMessage("A boot is in progress; import again when it has finished.");
    const client = this.usableClient() ?? this.newClient();
    this.diskView.clearMessage();
    this.setDiskBusy(true);
    let result: ImportResult;
    try {
      result = await client.importDisk(this.lab, file);
    } catch (err) {
      return this.diskView.showMessage(`Import failed: ${errorText(err)}`);
    } finally {
      this.setDiskBusy(false);
    }
    if (!result.ok) return this.diskView.showMessage(`Import failed: ${result.message}`);
    this.useStoredRelease = false;
    this.sessionsView.close(false);
    this.flash(`Imported ${file.name} (${formatBytes(result.bytes)})`);
    void this.boot(this.kernel, { mode: "cold" });
  }

  private setDiskBusy(busy: boolean): void {
    this.diskBusy = busy;
    this.syncControls();
  }

  private refreshEstimate(force: boolean): void {
    const storage = navigator.storage as StorageManager | undefined;
    const now = performance.now();
    if (!storage || (!force && now - this.estimateAt < ESTIMATE_INTERVAL_MS)) return;
    this.estimateAt = now;
    storage.estimate().then(
      (estimate) => {
        this.estimate = estimate;
        this.renderDisk();
      },
      () => undefined,
    );
  }

  private renderDisk(): void {
    // Before the worker's first report, a read-only tab can already say so.
    const status = this.disk ?? (this.persistence === "ephemeral" ? { ...NO_DISK, mode: "ephemeral" as const } : undefined);
    this.diskView.render(storageLine({ status, lab: this.lab, now: Date.now(), ...(this.estimate ? { estimate: this.estimate } : {}), ...(this.persisted === undefined ? {} : { persisted: this.persisted }) }));
  }

  /** Enables what makes sense now; the worker still refuses anything that slips through. */
  private syncControls(): void {
    this.renderUml();
    const opened = this.persistence !== undefined;
    const persistent = this.persistence === "persistent";
    const readOnly = this.persistence === "ephemeral";
    this.coldBootButton.disabled = !opened;
    this.sessionsButton.disabled = !opened;
    this.saveButton.disabled = !(persistent && this.hook.stage === "ready" && !this.saving);
    this.saveButton.title = readOnly ? "Saving sessions is off in a read-only tab" : "Save session (Ctrl+Shift+S)";
    this.diskView.setEnabled(
      { exportDisk: opened && !this.diskBusy, importDisk: persistent && !this.diskBusy, mergeDisk: persistent && !this.diskBusy && this.hook.stage === "ready", resetDisk: persistent && !this.diskBusy },
      readOnly,
    );
  }

  private describeKernels(manifest: ImageManifest): void {
    for (const option of this.select.options) {
      if (!isKernel(option.value)) continue;
      const info = manifest.kernels[option.value];
      option.textContent = `${option.value} (${info.release})`;
      option.title = info.description;
    }
  }

  private markPendingKernel(): void {
    const pending = this.select.value !== this.kernel;
    this.restartButton.classList.toggle("attention", pending);
    this.restartButton.title = pending ? `Restart with the ${this.select.value} kernel` : "Stop the machine and start it again (from a saved session or the snapshot when possible)";
  }

  private focusTerminal(): void {
    this.deck.focusCurrent();
  }

  private onTerminalKey(key: string, ev: KeyboardEvent): boolean {
    const action = keyAction(ev);
    if (action === undefined) return true;
    // Not cancelled: the browser's own paste then fires the paste event that xterm handles.
    if (action === "browser-paste") return false;
    if (ev.type === "keydown") {
      ev.preventDefault();
      this.perform(action, key);
    }
    return false;
  }

  /** `key`: the console the keys were typed in (copy and paste act on it). */
  private perform(action: Exclude<KeyAction, "browser-paste">, key: string): void {
    if (isTabAction(action)) return this.deck.activateAt(tabPosition(action));
    if (action === "save-session") {
      if (this.saveButton.disabled) return this.flash(this.persistence === "ephemeral" ? "Saving is off in a read-only tab." : "A session can be saved once the machine is ready.");
      return this.saveFromUser();
    }
    const pane = this.deck.pane(key);
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!pane) return;
    if (!clipboard) return this.flash("The clipboard needs a secure context (https or localhost).");
    if (action === "copy") {
      const text = pane.selection();
      if (!text) return;
      clipboard.writeText(text).then(
        () => this.flash("Copied"),
        () => this.flash("The browser blocked writing to the clipboard."),
      );
    } else {
      clipboard.readText().then(
        (text) => pane.paste(text),
        () => this.flash("The browser blocked reading the clipboard; try Ctrl+V."),
      );
    }
  }

  private async copyText(text: string): Promise<void> {
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!clipboard) throw new Error("The clipboard needs a secure context (https or localhost).");
    await clipboard.writeText(text);
    this.flash("Copied");
  }

  // UML toolkit

  private onUml(state: UmlState): void {
    this.umlState = state;
    this.renderUml();
  }

  /** The badge, the strips on UML's consoles, the mconsole toggle and the kernel panel follow UML's phase. */
  private renderUml(): void {
    const phase = umlPhase(this.umlState, this.hook.stage);
    this.umlStatus.render(phase, this.umlState, ["uml", ...this.mux.openKeys()], this.state.halted);
    this.mconsoleView.setPhase(phase);
    this.kernelView.setUml(this.umlState, this.kernel);
    this.instancesView.setState(this.umlState);
    this.mconsoleView.setInstances(this.umlState?.instances ?? []);
    this.openConsoleButton.disabled = !(phase === "running" || phase === "paused");
  }

  /** "+ Console": UML opens conN=xterm; its tab appears when the worker's mux says so, and is shown then. */
  private async openConsole(): Promise<number> {
    this.consoleMessage.clear();
    const client = this.usableClient();
    try {
      if (!client) throw new Error("No machine is running.");
      if (client.consoleMuxError !== undefined) throw new Error(`The worker did not take the consoles' port: ${client.consoleMuxError}`);
      this.openConsoleButton.disabled = true;
      const channel = await client.openConsole();
      if (this.deck.has(muxKey(channel))) this.deck.activate(muxKey(channel));
      else this.awaitedConsoles.add(channel);
      return channel;
    } catch (err) {
      this.consoleMessage.show(`Could not open another console: ${errorText(err)}`);
      throw err;
    } finally {
      this.renderUml();
    }
  }

  /** The kernel panel's "Boot UML with this": asks first, since every program in UML ends. */
  private async confirmRestartUml(kernel: string, cmdline: string): Promise<boolean> {
    const from = document.activeElement;
    const ok = await confirmDialog({
      title: "Restart UML?",
      body: [`UML shuts down and boots the ${kernel} kernel with the command line “${cmdline}”. Programs running in UML end; the disk keeps what was written.`],
      ok: "Restart UML",
      // Back to the panel's button when the user backed out; it is still there either way.
      returnFocus: () => (from instanceof HTMLElement && from.isConnected ? from.focus() : this.focusTerminal()),
    });
    if (!ok) return false;
    await this.restartUml({ kernel, cmdline });
    return true;
  }

  /** restartUml() on the worker; a built-in kernel becomes the page's kernel too (header, address). */
  private async restartUml(options: RestartOptions): Promise<void> {
    await this.toolkit.restartUml(options);
    const kernel = options.kernel;
    if (kernel !== undefined && isKernel(kernel) && kernel !== this.kernel) {
      this.kernel = kernel;
      this.select.value = kernel;
      history.replaceState(history.state, "", urlWithKernel(location.href, kernel));
      this.markPendingKernel();
    }
  }

  /** Worker time now, extrapolated from the latest report. */
  private now(): number {
    return this.clock.at + (performance.now() - this.clock.page);
  }

  private tick(): void {
    if (this.state.stage !== "idle" && !isSettled(this.state)) this.render();
  }

  private render(): void {
    const start = this.state.start;
    this.bootView.render(this.state, this.now(), start && describeStart(start.kind, start.reason, this.resumedSavedAt, Date.now()));
    document.body.dataset.bootStage = this.state.stage;
  }

  private setStatus(text: string, tone: "busy" | "good" | "warn" | "bad"): void {
    setText(this.status, text);
    this.status.dataset.tone = tone;
  }

  private flash(text: string): void {
    setText(this.notice, text);
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => setText(this.notice, ""), 4000);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
