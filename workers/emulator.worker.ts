// Module Web Worker hosting the emulator. Control arrives by comlink; console bytes use MessagePorts.
// It also owns the lab's storage: the disk overlay and saved sessions in IndexedDB.
import * as Comlink from "comlink";
import wasmGzUrl from "virtual:v86-wasm-gz";
import { ArtifactError, loadVerified, type ArtifactSource } from "./core/artifacts.ts";
import { CONSOLE_IDS, ROOT_BLOCK_SIZE, startArtifacts, type ConsoleId } from "./core/machine-basics.ts";
import type { Machine, MachineStart, NetworkAdapter, WasmLoader } from "./core/machine.ts";
import { wasmLoader } from "./core/wasm-loader.ts";
import { parseManifest, type ImageManifest, type KernelFlavour, type ManifestArtifact, type ManifestSnapshot } from "./core/manifest.ts";
import { Prefetches } from "./core/prefetches.ts";
import { HeldReports, identityDifferences, LateNetwork, type StartIdentity } from "./core/early-start.ts";
import { prefetchHintFromName } from "./core/prefetch-hint.ts";
import { backingPath, createStateDisk, releaseBacking, STATE_BLOCK_SIZE, stateDiskSize, type BackingFile } from "./core/state-disk.ts";
import { ZeroBlockStore } from "./disk/block-store.ts";
import { gunzip, gunzipIfGzip, gzip } from "./disk/gzip.ts";
import { PersistentOverlay, storageErrorText } from "./disk/persistent-overlay.ts";
import { CowFormatError, gunzipChunks, importCowFile, readCowFile, sniffGzip } from "./disk/uml-cow.ts";
import { LabStore, type MergedBacking, type OverlayMeta, type SessionMeta, type StoredOverlay } from "./storage/lab-store.ts";
import { ExtentFile, rebaseCow } from "./disk/rebase-cow.ts";
import { SparseImage } from "./disk/sparse-image.ts";
import { decompress as zstdDecompress } from "fzstd";
import { LabNetwork } from "./lab-network.ts";
import { UmlControl } from "./core/uml-control.ts";
import { DEFAULT_UML_CMDLINE } from "./core/uml-cmdline.ts";
import type {
  BootObserver,
  BootOptions,
  BootResult,
  CmdlineCheck,
  ConsoleMuxMessage,
  ConsolePortMessage,
  KernelCheck,
  MconsoleResult,
  RestartOptions,
  SharedEntry,
  UmlState,
  DiskStatus,
  EmulatorApi,
  GuestRequest,
  GuestResponse,
  ImportResult,
  MachineStatus,
  MergeResult,
  NetworkStatus,
  PrefetchHint,
  SaveSessionOptions,
  SessionInfo,
  StartKind,
} from "./api.ts";

/** Sessions kept per lab; the oldest go first. */
const SESSIONS_KEPT = 5;
const ARTIFACT_CACHE = "umlab-artifacts-v1";
/** Artifact downloads prefetch() started, waiting for the boot that reads them. */
const prefetches = new Prefetches();

/**
 * Fetches artifacts next to the manifest, streaming so the page can show bytes and percent. Each is
 * also kept in the Cache API by its sha256, so a lab whose disk belongs to an older release can still boot
 * it after the server has moved on.
 */
class HttpArtifactSource implements ArtifactSource {
  constructor(private readonly base: URL) {}

  url(artifact: ManifestArtifact): URL {
    // The sha256 in the query makes each release its own cache entry.
    return new URL(`${artifact.file}?v=${artifact.sha256.slice(0, 16)}`, this.base);
  }

  async read(artifact: ManifestArtifact, onProgress: (loaded: number) => void): Promise<Uint8Array> {
    const url = this.url(artifact);
    const prefetched = prefetches.take(url.toString(), onProgress);
    if (prefetched) {
      try {
        return await prefetched;
      } catch {
        // The head start failed: this read tries once more on its own.
      }
    }
    return this.fetchBytes(url, artifact, onProgress);
  }

  /** Starts reading an artifact for a boot that has not asked yet; its read() takes the download over. */
  prefetch(artifact: ManifestArtifact): void {
    const url = this.url(artifact);
    prefetches.start(url.toString(), (onProgress) => this.fetchBytes(url, artifact, onProgress));
  }

  private async fetchBytes(url: URL, artifact: ManifestArtifact, onProgress: (loaded: number) => void): Promise<Uint8Array> {
    const cached = await (await openArtifactCache())?.match(url);
    const response = cached ?? (await fetch(url));
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} for ${url.pathname}`);
    const out = new Uint8Array(artifact.size);
    let loaded = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.length > out.length) throw new Error(`${artifact.file} is larger than the manifest says`);
      out.set(value, loaded);
      loaded += value.length;
      onProgress(loaded);
    }
    return out.subarray(0, loaded);
  }

  /** Only verified bytes are cached; a cached copy that fails verification is dropped. */
  async checked(artifact: ManifestArtifact, bytes: Uint8Array, ok: boolean): Promise<void> {
    const cache = await openArtifactCache();
    const url = this.url(artifact);
    if (!cache) return;
    if (!ok) await cache.delete(url).catch(() => false);
    // Not awaited: storing the snapshot took about 0.1 s of a restore, and the boot does not need it stored.
    else void cache.match(url).then((hit) => (hit ? undefined : cache.put(url, new Response(bytes.slice())))).catch(() => undefined);
  }

  async has(artifact: ManifestArtifact): Promise<boolean> {
    return Boolean(await (await openArtifactCache())?.match(this.url(artifact)));
  }
}

/** Opened once per worker (from its start: opening took tens of milliseconds before the first download). */
let artifactCache: Promise<Cache | undefined> | undefined;

function openArtifactCache(): Promise<Cache | undefined> {
  return (artifactCache ??= (async () => {
    try {
      return typeof caches === "undefined" ? undefined : await caches.open(ARTIFACT_CACHE);
    } catch {
      return undefined;
    }
  })());
}

interface Running {
  machine: Machine;
  manifest: ImageManifest;
  lab: string;
  kernel: KernelFlavour;
  disk: PersistentOverlay;
  meta: OverlayMeta | undefined;
  backing: BackingFile;
  hostMemoryMiB: number;
  network: LabNetwork;
  usesStack: boolean;
  uml: UmlControl;
}

class EmulatorWorker implements EmulatorApi {
  private running: Running | undefined;
  private readonly ports = new Map<ConsoleId, MessagePort>();
  private muxPort: MessagePort | undefined;
  private storeValue: LabStore | undefined;
  private storeError: string | undefined;
  /** prefetch() deciding and starting its downloads; a boot waits for that, then reads what it started. */
  private prefetching: Promise<void> | undefined;
  /** The machine prefetch() started for the hinted boot, restored and paused (see prepareEarly). */
  private prepared: Promise<Prepared | undefined> | undefined;

  attachConsoles(ports: Record<ConsoleId, MessagePort>): void {
    for (const id of CONSOLE_IDS) {
      const port = ports[id];
      this.ports.set(id, port);
      port.onmessage = (e: MessageEvent<ConsolePortMessage>) => {
        const msg = e.data;
        if (msg.type === "input") this.running?.machine.sendInput(id, msg.data);
        else if (msg.type === "resize") this.running?.machine.resize(id, msg.data[0], msg.data[1]);
      };
    }
  }

  async boot(options: BootOptions, observer: BootObserver): Promise<BootResult> {
    // Fetching and compiling the emulator core overlaps with everything up to the artifact downloads.
    v86Wasm();
    await this.stop();
    const lab = options.lab ?? "default";
    const store = this.store();
    // Read while the manifest is fetched: neither needs the other.
    const overlay = store ? store.loadOverlay(lab).then((o) => ({ stored: o }), (err: unknown) => ({ error: storageErrorText(err) })) : undefined;
    overlay?.catch(() => undefined);
    let manifest: ImageManifest;
    try {
      const response = await fetchManifest(options.manifestUrl);
      if (!response.ok) {
        return { ok: false, error: { kind: "manifest-missing", message: `No images at ${options.manifestUrl} (HTTP ${response.status}). Build them with: npm run images` } };
      }
      manifest = parseManifest(await response.json());
    } catch (err) {
      return { ok: false, error: { kind: "manifest-invalid", message: errorText(err) } };
    }
    const source = new HttpArtifactSource(new URL(options.manifestUrl));
    const wantsPersistence = (options.persistence ?? "persistent") === "persistent";

    const loaded = await overlay;
    const stored: StoredOverlay | undefined = loaded && "stored" in loaded ? loaded.stored : undefined;
    const storageError = loaded && "error" in loaded ? loaded.error : this.storeError;

    // A COW made for another release's backing image must never boot against this one.
    if (stored && stored.meta.backingSha256 !== manifest.artifacts.rootfs.sha256) {
      const release = await store?.overlayRelease(lab).catch(() => undefined);
      const releaseCached = release ? await this.releaseCached(source, release, options.kernel) : false;
      if (!options.useStoredRelease || !release || !releaseCached) {
        return {
          ok: false,
          error: {
            kind: "stale-disk",
            message: "Your saved disk was made for an older image release, and the current release cannot use it.",
            stale: { backingSha256: stored.meta.backingSha256, builtAt: release?.builtAt ?? "unknown", releaseCached, bytes: stored.meta.bytes },
          },
        };
      }
      manifest = release;
    }

    // A head start still deciding would fetch the same artifacts again alongside this boot's own reads.
    await this.prefetching;
    this.prefetching = undefined;
    const choice = await this.choose(options, manifest, stored?.meta, store, lab);
    const early = await this.takePrepared(startIdentity(options, manifest, lab, choice, stored?.meta), options);
    const plan = early ? early.plan : await this.plan(choice, store);
    if ("error" in plan) return { ok: false, error: { kind: "emulator", message: plan.error } };
    const kernel = plan.session?.kernel ?? options.kernel;
    observer.start?.(plan.kind, plan.reason);

    const persistent = wantsPersistence && store !== undefined && storageError === undefined;
    const backing: BackingFile = stored?.meta.backing ?? releaseBacking(manifest);
    let meta: OverlayMeta | undefined = stored?.meta;
    if (persistent && store && !meta) {
      const now = Date.now();
      meta = {
        id: crypto.randomUUID(),
        lab,
        backingSha256: manifest.artifacts.rootfs.sha256,
        blockSize: 0,
        byteLength: stateDiskSize(backing),
        generation: 0,
        bytes: 0,
        createdAt: now,
        updatedAt: now,
      };
    }
    if (meta && plan.kind === "snapshot" && plan.snapshotSha256 && meta.generation === 0) {
      // The first commit writes the snapshot's disk: until anything else is written, restoring it again is safe.
      meta.pristine = { snapshotSha256: plan.snapshotSha256, kernel, generation: 1 };
    }
    const reports = early?.reports ?? new HeldReports();
    reports.listen(observer);
    const backend = persistent && store && meta ? store.backend(meta, (m) => this.onCommitted(m)) : undefined;
    let disk: PersistentOverlay;
    let created: Promise<void> | undefined;
    try {
      if (early) {
        disk = early.disk;
        if (backend) disk.attach(backend);
      } else {
        disk = createStateDisk(backing, {
          stored: stored?.blocks,
          generation: meta?.generation ?? 0,
          backend,
          mode: persistent ? "persistent" : wantsPersistence ? "memory" : "ephemeral",
          onStatus: (status) => reports.disk(status),
        });
      }
      if (meta) {
        meta.blockSize = disk.blockSize;
        meta.byteLength = disk.byteLength;
      }
      // Not awaited before the downloads start (it took 30-70 ms of a first visit's restore): IndexedDB runs
      // it before any commit of this disk, since transactions on one store run in the order they were made.
      if (persistent && store && meta && !stored) {
        created = store.replaceOverlay(meta, manifest, new Map());
        created.catch(() => undefined);
      }
    } catch (err) {
      return { ok: false, error: { kind: "emulator", message: `cannot prepare the disk: ${errorText(err)}` } };
    }
    if (!persistent && wantsPersistence) disk.detach("memory", storageError ?? "the browser's storage is unavailable");
    reports.disk(disk.status);

    const network = new LabNetwork(options.network);
    // The restored guests keep the addresses this state recorded, without renewing their leases.
    const leases = plan.session ? plan.session.leases : plan.kind === "snapshot" ? manifest.snapshots?.[kernel]?.leases : undefined;
    if (leases) network.stack.restoreLeases(leases);
    let assembled: Assembled;
    if (early) {
      early.network.connect(network.stack);
      assembled = early;
    } else {
      assembled = await this.assemble({
        manifest,
        kernel,
        plan,
        stored,
        backing,
        disk,
        network: options.network?.backend === "v86-fetch" ? "v86-fetch" : network.stack,
        umlMemory: options.umlMemory,
        source,
        reports,
      });
    }
    const { machine, link } = assembled;
    const hostMemoryMiB = plan.start.kind === "cold" ? 256 : plan.start.hostMemoryMiB;
    const post = (message: ConsoleMuxMessage, transfer: Transferable[] = []): void => this.muxPort?.postMessage(message, transfer);
    const uml = new UmlControl(machine, {
      kernel,
      cmdline: options.umlMemory ? DEFAULT_UML_CMDLINE.replace(/mem=\S+/, `mem=${options.umlMemory}`) : DEFAULT_UML_CMDLINE,
      hostMemoryMiB,
      onState: (state) => observer.uml?.(state),
      mux: {
        open: (channel, title) => post({ type: "open", channel, title }),
        data: (channel, bytes) => {
          const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
          post({ type: "output", channel, data: own }, [own.buffer]);
        },
        close: (channel) => post({ type: "close", channel }),
      },
    });
    link.uml = uml;
    this.running = { machine, manifest, lab, kernel, disk, meta, backing, hostMemoryMiB, network, usesStack: options.network?.backend !== "v86-fetch", uml };
    try {
      await machine.boot();
      if (created) {
        const failure = await created.then(() => undefined, (err: unknown) => errorText(err));
        if (failure !== undefined) return { ok: false, error: { kind: "emulator", message: `cannot prepare the disk: ${failure}` } };
      }
      if (plan.start.kind !== "cold") uml.afterRestore();
      // A restored state brought its own disk blocks, and a fresh disk its COW header: store them now.
      await disk.flush();
      const screens = plan.session?.screens ?? (plan.kind === "snapshot" ? { uml: manifest.snapshots?.[kernel]?.screen ?? "" } : undefined);
      const done = { ok: true as const, manifest, start: plan.kind, ...(early ? { preparedEarly: true } : {}) };
      return screens ? { ...done, screens } : done;
    } catch (err) {
      if (err instanceof ArtifactError) {
        return { ok: false, error: { kind: err.kind === "missing" ? "artifact-missing" : "artifact-corrupt", message: err.message, file: err.file } };
      }
      return { ok: false, error: { kind: "emulator", message: errorText(err) } };
    }
  }

  /** How to start, as choose() decided, with a resumed session's state read. */
  private async plan(choice: StartChoice, store: LabStore | undefined): Promise<Plan | { error: string }> {
    if (choice.kind !== "resume") return planOf(choice);
    const { session, reason } = choice;
    const state = await store?.sessionState(session);
    if (!state) return planOf(choice.otherwise);
    return { kind: "resume", reason, start: { kind: "resume", state: await gunzip(state), hostMemoryMiB: session.hostMemoryMiB }, session };
  }

  /** A machine and where its events go; the console output goes straight to the page's ports. */
  private async assemble(setup: {
    manifest: ImageManifest;
    kernel: KernelFlavour;
    plan: Plan;
    stored: StoredOverlay | undefined;
    backing: BackingFile;
    disk: PersistentOverlay;
    network: NetworkAdapter | "v86-fetch";
    umlMemory: string | undefined;
    source: ArtifactSource;
    reports: HeldReports;
  }): Promise<Assembled> {
    const { reports } = setup;
    const { Machine } = await machineModule;
    // The UML control is made after the machine, which reports to it through this holder.
    const link: { uml?: UmlControl } = {};
    const machine = new Machine(
      {
        manifest: setup.manifest,
        kernel: setup.kernel,
        network: setup.network,
        umlMemory: setup.umlMemory,
        source: setup.source,
        wasm: v86Wasm(),
        stateDisk: setup.disk,
        backing: setup.backing,
        rootDiskBlocks: setup.stored?.rootBlocks,
        start: setup.plan.start,
      },
      {
        stage: (event) => {
          reports.stage(event);
          link.uml?.onStage(event);
        },
        download: (progress) => reports.download(progress),
        mux: (bytes) => link.uml?.muxOutput(bytes),
        umlExited: (status, panic) => link.uml?.onUmlExited(status, panic),
        umlReady: () => link.uml?.onReady(),
        instance: (event) => link.uml?.onInstance(event),
        output: (id, bytes) => {
          // Transfer, never copy: console output is the hottest path after the CPU itself.
          const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
          this.ports.get(id)?.postMessage({ type: "output", data: own } satisfies ConsolePortMessage, [own.buffer]);
        },
      },
    );
    return { machine, link };
  }

  /**
   * Starts, for the boot the page's address asks for, the machine that boot would make, and restores its
   * state while the page is still building its UI. It waits paused, writing nothing: its disk commits to
   * nothing and its NIC reaches nothing until a boot takes it over (takePrepared).
   */
  private async prepareEarly(hint: PrefetchHint, manifest: ImageManifest, choice: StartChoice, expected: OverlayMeta | undefined, store: LabStore | undefined, source: HttpArtifactSource): Promise<Prepared | undefined> {
    const lab = hint.lab ?? "default";
    const stored = expected ? await store?.loadOverlay(lab) : undefined;
    if (expected && (stored?.meta.id !== expected.id || stored.meta.generation !== expected.generation)) return undefined;
    const plan = await this.plan(choice, store);
    if ("error" in plan || plan.kind !== choice.kind) return undefined;
    const kernel = plan.session?.kernel ?? hint.kernel;
    const backing = stored?.meta.backing ?? releaseBacking(manifest);
    const reports = new HeldReports();
    const disk = createStateDisk(backing, { stored: stored?.blocks, generation: stored?.meta.generation ?? 0, mode: "ephemeral", onStatus: (status) => reports.disk(status) });
    const network = new LateNetwork();
    const { machine, link } = await this.assemble({ manifest, kernel, plan, stored, backing, disk, network, umlMemory: undefined, source, reports });
    machine.prepare().catch(() => undefined);
    const prepared: Prepared = { identity: startIdentity(hint, manifest, lab, choice, expected), plan, disk, network, reports, machine, link, state: "waiting" };
    // Nobody took it (the page stopped at a question, or went away): its memory goes back.
    setTimeout(() => {
      if (prepared.state !== "waiting") return;
      prepared.state = "expired";
      void machine.stop();
    }, PREPARED_EXPIRY_MS);
    return prepared;
  }

  /** The machine prepareEarly made, if it is the one this boot would make; any other is stopped. */
  private async takePrepared(identity: StartIdentity, options: BootOptions): Promise<Prepared | undefined> {
    const prepared = await this.prepared?.catch(() => undefined);
    this.prepared = undefined;
    if (prepared?.state !== "waiting") return undefined;
    prepared.state = "taken";
    // v86's own network backend (the benchmark's peer) is a different NIC set-up. A machine whose
    // preparation already failed is dropped too: this boot tries on its own.
    if (options.network?.backend !== "v86-fetch" && prepared.machine.stage !== "error" && identityDifferences(prepared.identity, identity).length === 0) return prepared;
    await prepared.machine.stop();
    return undefined;
  }

  /** How a boot with these options starts, from the records alone: a resume's state is read by plan(). */
  private async choose(options: Pick<BootOptions, "mode" | "kernel">, manifest: ImageManifest, meta: OverlayMeta | undefined, store: LabStore | undefined, lab: string): Promise<StartChoice> {
    const mode = options.mode ?? "auto";
    if (typeof mode === "object") {
      const gone: SettledChoice = { kind: "error", error: `The saved session ${mode.session} no longer exists.` };
      const session = await store?.findSession(mode.session);
      if (!session) return gone;
      if (session.backingSha256 !== manifest.artifacts.rootfs.sha256) return { kind: "error", error: "That session was saved with another image release and cannot be resumed with this one." };
      const current = meta?.backing?.file ?? manifest.backing.file;
      if ((session.backingFile ?? manifest.backing.file) !== current) return { kind: "error", error: "That session was saved before the disk was last merged, so it no longer fits the disk." };
      if (!fitsDiskLayout(session, meta, manifest)) return { kind: "error", error: "That session was saved by an older umlab, whose disk had another layout, so it cannot be resumed. Your disk itself is kept." };
      return { kind: "resume", reason: `Resuming the session saved ${new Date(session.savedAt).toLocaleString()}`, session, otherwise: gone };
    }
    if (mode === "cold") return { kind: "cold", reason: "Cold boot, as asked: booting the host kernel and UML (about 15 s)." };

    const sessions = meta && store ? await store.listSessions(lab).catch(() => []) : [];
    const newest = sessions[0];
    const snapshot = manifest.snapshots?.[options.kernel];
    const pristine = meta?.pristine;
    let otherwise: SettledChoice;
    if (snapshot && (!meta || (pristine && pristine.generation === meta.generation))) {
      otherwise = { kind: "snapshot", reason: "Restoring the pre-booted snapshot", snapshot };
    } else {
      const why = !snapshot
        ? `the images have no pre-booted snapshot for the ${options.kernel} kernel`
        : newest
          ? "your disk has changes newer than your last saved session"
          : "your disk has changes and no saved session goes with them";
      otherwise = { kind: "cold", reason: `Cold boot, because ${why}: booting the host kernel and UML with your disk (about 15 s).` };
    }
    if (newest && meta && newest.overlayId === meta.id && newest.generation === meta.generation && newest.backingSha256 === manifest.artifacts.rootfs.sha256 && fitsDiskLayout(newest, meta, manifest)) {
      return { kind: "resume", reason: `Resuming your session saved ${new Date(newest.savedAt).toLocaleString()}`, session: newest, otherwise };
    }
    return otherwise;
  }

  private onCommitted(meta: OverlayMeta): void {
    if (this.running) this.running.meta = meta;
  }

  private async releaseCached(source: HttpArtifactSource, release: ImageManifest, kernel: KernelFlavour): Promise<boolean> {
    const names = ["bios", "vgaBios", "hostKernel", "hostInitramfs", release.kernels[kernel].artifact, "rootfs"] as const;
    for (const name of names) if (!(await source.has(release.artifacts[name]))) return false;
    return true;
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    running.network.close();
    await running.machine.stop();
    // Whatever the guest wrote before stopping is stored before the disk is let go.
    await running.disk.flush();
  }

  network(): NetworkStatus | undefined {
    // With v86's own backend (the benchmark's peer) the stack is not on the NIC: nothing to report.
    return this.running?.usesStack ? this.running.network.status() : undefined;
  }

  async listeningPorts(): Promise<number[]> {
    const running = this.running;
    if (!running || running.machine.status.stage !== "ready") return [];
    // Rejects when UML does not answer in time: an empty list would read as "nothing listens".
    const reply = await running.machine.agentRequest("ports", 5000);
    return [...new Set(reply.replace(/^ok ports/, "").trim().split(/\s+/).filter(Boolean).map(Number))].filter((n) => Number.isInteger(n) && n > 0).sort((a, b) => a - b);
  }

  async guestHttp(port: number, request: GuestRequest): Promise<GuestResponse> {
    const running = this.running;
    if (!running) return { status: 503, reason: "", headers: [["Content-Type", "text/plain"]], body: new TextEncoder().encode("the lab is not running\n") };
    const response = await running.network.guestHttp(port, request);
    return Comlink.transfer(response, [response.body.buffer]);
  }

  async forwardPort(port: number): Promise<MessagePort> {
    const running = this.running;
    if (!running?.usesStack) throw new Error("the lab is not running");
    const forward = await running.network.forwardPort(port);
    return Comlink.transfer(forward, [forward]);
  }

  serveLoopback(port: number, listener: MessagePort): void {
    if (!this.running?.usesStack) throw new Error("the lab is not running");
    this.running.network.serveLoopback(port, listener);
  }

  attachConsoleMux(port: MessagePort): void {
    this.muxPort = port;
    port.onmessage = (e: MessageEvent<ConsoleMuxMessage>) => {
      const msg = e.data;
      const uml = this.running?.uml;
      if (msg.type === "input") uml?.muxInput(msg.channel, msg.data);
      else if (msg.type === "resize") uml?.muxResize(msg.channel, msg.cols, msg.rows);
    };
  }

  uml(): UmlState | undefined {
    return this.running?.uml.state;
  }

  async mconsole(command: string, instance?: number): Promise<MconsoleResult> {
    return this.requireUml().mconsole(command, instance);
  }

  async startInstance(options: { n?: number; mem?: string } = {}): Promise<number> {
    return this.requireUml().startInstance(options);
  }

  async stopInstance(n: number): Promise<void> {
    await this.requireUml().stopInstance(n);
  }

  async openConsole(): Promise<number> {
    return this.requireUml().openConsole();
  }

  async restartUml(options: RestartOptions = {}): Promise<void> {
    await this.requireUml().restart(options);
  }

  checkCmdline(text: string): { check: CmdlineCheck; defaults: string } {
    const check: CmdlineCheck = this.running ? this.running.uml.checkCmdline(text) : { ok: false, errors: [{ token: "", message: "the lab is not running" }] };
    return { check, defaults: DEFAULT_UML_CMDLINE };
  }

  async kernelConfig(kernel?: string): Promise<string> {
    return this.requireUml().kernelConfig(kernel);
  }

  async uploadKernel(name: string, bytes: Uint8Array): Promise<KernelCheck> {
    return this.requireUml().uploadKernel(name, bytes);
  }

  async listShared(): Promise<SharedEntry[]> {
    return this.requireUml().share().list();
  }

  async putShared(path: string, bytes: Uint8Array): Promise<void> {
    await this.requireUml().share().put(path, bytes);
  }

  async readShared(path: string): Promise<Uint8Array> {
    const bytes = await this.requireUml().share().read(path);
    return Comlink.transfer(bytes, [bytes.buffer]);
  }

  async deleteShared(path: string): Promise<void> {
    this.requireUml().share().delete(path);
  }

  private requireUml(): UmlControl {
    const uml = this.running?.uml;
    if (!uml) throw new Error("the lab is not running");
    return uml;
  }

  status(): MachineStatus {
    const s = this.running?.machine.status;
    return { stage: s?.stage ?? "idle", kernel: s?.kernel, umid: s?.umid, stageTimes: s?.stageTimes ?? {} };
  }

  disk(): DiskStatus {
    return this.running?.disk.status ?? { mode: "none", bytes: 0, pending: 0, generation: 0 };
  }

  async flushDisk(): Promise<DiskStatus> {
    await this.running?.disk.flush();
    return this.disk();
  }

  async saveSession(options: SaveSessionOptions): Promise<SessionInfo> {
    const running = this.running;
    const store = this.store();
    if (!running) throw new Error("Nothing to save: the machine is not running.");
    if (running.disk.status.mode !== "persistent" || !store || !running.meta) {
      throw new Error(`Sessions cannot be saved: ${running.disk.status.error ?? "this tab does not save its disk (read-only)"}.`);
    }
    // Without this, UML's dirty pages would reach the disk seconds after the save, and the session would no
    // longer match the stored disk, so the next visit would cold-boot instead of resuming.
    await running.machine.agentRequest("quiesce", 30_000).catch(() => undefined);
    await running.disk.flush();
    const { state, diskGeneration } = await running.machine.saveState();
    const compressed = await gzip(state);
    const meta: SessionMeta = {
      id: crypto.randomUUID(),
      lab: running.lab,
      savedAt: Date.now(),
      kind: options.kind,
      kernel: running.kernel,
      bytes: compressed.length,
      overlayId: running.meta.id,
      generation: diskGeneration,
      backingSha256: running.manifest.artifacts.rootfs.sha256,
      backingFile: running.backing.file,
      hostMemoryMiB: running.hostMemoryMiB,
      diskBytes: running.disk.byteLength,
      ...(options.screens ? { screens: options.screens } : {}),
      ...(running.usesStack ? { leases: running.network.stack.leaseList() } : {}),
    };
    await store.saveSession(meta, compressed, SESSIONS_KEPT);
    return toSessionInfo(meta, running.meta);
  }

  async listSessions(lab: string): Promise<SessionInfo[]> {
    const store = this.store();
    if (!store) return [];
    const overlay = this.running?.lab === lab ? this.running.meta : await store.overlayMeta(lab);
    return (await store.listSessions(lab)).map((s) => toSessionInfo(s, overlay));
  }

  async deleteSession(id: string): Promise<void> {
    await this.requireStore().deleteSession(id);
  }

  async resetDisk(lab: string): Promise<void> {
    if (this.running?.lab === lab) {
      this.running.disk.detach("ephemeral");
      await this.stop();
    }
    await this.requireStore().resetLab(lab);
  }

  async exportDisk(lab: string): Promise<{ blob: Blob; fileName: string }> {
    let disk: PersistentOverlay;
    let release: ImageManifest;
    let meta: OverlayMeta | undefined;
    let rootBlocks: ReadonlyMap<number, Uint8Array> | undefined;
    if (this.running?.lab === lab) {
      await this.running.disk.flush();
      ({ disk, manifest: release, meta } = this.running);
      rootBlocks = this.running.machine.rootDisk?.storedBlocks;
    } else {
      const store = this.requireStore();
      const stored = await store.loadOverlay(lab);
      const storedRelease = await store.overlayRelease(lab);
      if (!stored || !storedRelease) throw new Error("This lab has no saved disk to export yet.");
      release = storedRelease;
      meta = stored.meta;
      rootBlocks = stored.rootBlocks;
      disk = createStateDisk(meta.backing ?? releaseBacking(release), { stored: stored.blocks });
    }
    // After a merge the COW names the lab's private image, which exists only here: export the private
    // image and the COW together as one COW against the release's image, which anyone can have.
    if (meta?.backing) disk = await this.rebasedOnRelease(release, disk, rootBlocks ?? new Map());
    const chunks = readCowFile(disk);
    const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value as Uint8Array<ArrayBuffer>);
      },
    });
    const blob = await new Response(stream.pipeThrough(new CompressionStream("gzip"))).blob();
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
    return { blob, fileName: `umlab-${lab}-${stamp}.cow.gz` };
  }

  private async rebasedOnRelease(release: ImageManifest, cow: PersistentOverlay, rootBlocks: ReadonlyMap<number, Uint8Array>): Promise<PersistentOverlay> {
    const source = new HttpArtifactSource(new URL(MANIFEST_URL));
    const rootfs = new SparseImage(zstdDecompress(await loadVerified(source, "rootfs", release.artifacts.rootfs, () => undefined)));
    const { extents, size } = release.backing;
    const pristine = new ExtentFile(rootfs, extents, size);
    const merged = new ExtentFile(new PersistentOverlay(rootfs, { blockSize: ROOT_BLOCK_SIZE, stored: rootBlocks }), extents, size);
    const backing = releaseBacking(release);
    const target = new PersistentOverlay(new ZeroBlockStore(stateDiskSize(backing)), { blockSize: STATE_BLOCK_SIZE });
    rebaseCow(pristine, merged, cow, { backingFile: backingPath(backing), mtime: backing.mtime, size: backing.size }, target);
    return target;
  }

  async mergeDisk(lab: string): Promise<MergeResult> {
    const running = this.running;
    const store = this.store();
    if (running?.lab !== lab || running.machine.stage !== "ready") return { ok: false, message: "Merge needs the lab running, with UML at its prompt." };
    const rootDisk = running.machine.rootDisk;
    if (running.disk.status.mode !== "persistent" || !store || !running.meta || !rootDisk) {
      return { ok: false, message: `Merge is not possible here: ${running.disk.status.error ?? "this tab does not save its disk (read-only)"}.` };
    }
    const started = Date.now();
    const bytesBefore = running.disk.status.bytes;
    const merges = (running.meta.backing?.merges ?? 0) + 1;
    const next: MergedBacking = { file: `private-${merges}-${crypto.randomUUID().slice(0, 8)}.img`, size: running.backing.size, mtime: Math.floor(started / 1000), merges, mergedAt: started };
    let reply: string;
    running.machine.umlRestarting("merging the disk, then booting UML again");
    try {
      // The host shuts UML down cleanly (its last writes reach the COW as usual), then runs uml_moo -d.
      reply = await running.machine.agentRequest(`merge ${next.file} ${next.mtime}`, 15 * 60_000);
    } catch (err) {
      await running.machine.agentRequest(`uml-start ${running.backing.file}`).catch(() => undefined);
      return { ok: false, message: errorText(err).replace(/^the host agent answered "[^"]*" with: (error merge: )?/, "") };
    }
    await running.disk.flush();
    // The merged rootfs disk and a fresh COW naming the private image, stored in one transaction: a tab
    // killed before it commits keeps the old COW and image, which are still a consistent pair.
    const fresh = createStateDisk(next);
    const meta: OverlayMeta = { ...running.meta, id: crypto.randomUUID(), backing: next, generation: 1, bytes: fresh.storedBlocks.size * fresh.blockSize, updatedAt: Date.now() };
    delete meta.pristine;
    try {
      await store.replaceOverlay(meta, running.manifest, fresh.storedBlocks, rootDisk.storedBlocks);
    } catch (err) {
      return { ok: false, message: `The merged disk could not be stored (${storageErrorText(err)}). Reload the lab: your stored disk is unchanged.` };
    }
    running.disk.rebase(fresh.storedBlocks, store.backend(meta, (m) => this.onCommitted(m)), meta.generation);
    running.meta = meta;
    running.backing = next;
    await running.machine.agentRequest(`uml-start ${next.file}`);
    return { ok: true, backingFile: next.file, merges, bytesBefore, bytesAfter: meta.bytes, rootBytes: rootDisk.storedBlocks.size * ROOT_BLOCK_SIZE, ms: Date.now() - started, reply };
  }

  async importDisk(lab: string, file: Blob): Promise<ImportResult> {
    const manifest = this.running?.manifest ?? (await this.currentManifest());
    if (!manifest) return { ok: false, message: "The images are not available, so the file cannot be checked." };
    const store = this.store();
    if (!store) return { ok: false, message: `The disk cannot be imported: ${this.storeError ?? "the browser's storage is unavailable"}.` };
    const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
    const raw = file.stream() as ReadableStream<Uint8Array>;
    const target = new PersistentOverlay(new ZeroBlockStore(stateDiskSize(releaseBacking(manifest))), { blockSize: this.running?.disk.blockSize ?? 65536 });
    try {
      const release = releaseBacking(manifest);
      await importCowFile(sniffGzip(head) ? gunzipChunks(raw) : streamChunks(raw), { size: release.size, backingFiles: [backingPath(release)] }, target);
    } catch (err) {
      if (err instanceof CowFormatError) return { ok: false, message: err.message };
      return { ok: false, message: `The file could not be read: ${errorText(err)}` };
    }
    // Only now, with the file fully checked, is the current disk replaced.
    if (this.running?.lab === lab) {
      this.running.disk.detach("ephemeral");
      await this.stop();
    }
    const now = Date.now();
    const blocks = target.storedBlocks;
    const bytes = blocks.size * target.blockSize;
    const meta: OverlayMeta = { id: crypto.randomUUID(), lab, backingSha256: manifest.artifacts.rootfs.sha256, blockSize: target.blockSize, byteLength: target.byteLength, generation: 1, bytes, createdAt: now, updatedAt: now };
    try {
      await store.replaceOverlay(meta, manifest, blocks);
    } catch (err) {
      return { ok: false, message: `The disk could not be stored: ${storageErrorText(err)}. Your previous disk is unchanged.` };
    }
    return { ok: true, bytes };
  }

  private async currentManifest(): Promise<ImageManifest | undefined> {
    try {
      const response = await fetch(MANIFEST_URL, { cache: "no-cache" });
      return response.ok ? parseManifest(await response.json()) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Opens the lab database now (idb-keyval opens it as the store is made; a first visit creates it). */
  openStorage(): void {
    this.store();
  }

  /** See PrefetchHint. Only a head start: whatever is wrong, boot() finds and reports. */
  prefetch(hint: PrefetchHint): void {
    this.prefetching = this.startDownloads(hint).catch(() => undefined);
  }

  private async startDownloads(hint: PrefetchHint): Promise<void> {
    const lab = hint.lab ?? "default";
    const store = this.store();
    const stored = store?.overlayMeta(lab).catch(() => undefined);
    const response = await peekManifest(hint.manifestUrl);
    if (!response.ok) return;
    const manifest = parseManifest(await response.json());
    const meta = await stored;
    // A disk made for another release: the boot asks the user first.
    if (meta && meta.backingSha256 !== manifest.artifacts.rootfs.sha256) return;
    const choice = await this.choose(hint, manifest, meta, store, lab);
    const source = new HttpArtifactSource(new URL(hint.manifestUrl));
    if (choice.kind === "snapshot") {
      for (const name of startArtifacts(manifest, hint.kernel, "snapshot", choice.snapshot.rootDiskBytes !== undefined)) source.prefetch(manifest.artifacts[name]);
      source.prefetch(choice.snapshot);
    } else if (choice.kind === "resume") {
      for (const name of startArtifacts(manifest, choice.session.kernel, "resume", false)) source.prefetch(manifest.artifacts[name]);
    } else {
      // A cold boot takes tens of seconds: a head start on it would not be felt.
      return;
    }
    this.prepared = this.prepareEarly(hint, manifest, choice, meta, store, source);
    this.prepared.catch(() => undefined);
  }

  private store(): LabStore | undefined {
    if (this.storeValue || this.storeError) return this.storeValue;
    try {
      if (typeof indexedDB === "undefined") throw new Error("IndexedDB is not available here (private browsing?)");
      this.storeValue = new LabStore();
    } catch (err) {
      this.storeError = storageErrorText(err);
    }
    return this.storeValue;
  }

  private requireStore(): LabStore {
    const store = this.store();
    if (!store) throw new Error(`The browser's storage is unavailable: ${this.storeError ?? "unknown reason"}`);
    return store;
  }
}

/** A saved state knows the state disk's size (the host kernel read it at boot): it must be this disk's. */
function fitsDiskLayout(session: SessionMeta, meta: OverlayMeta | undefined, manifest: ImageManifest): boolean {
  return session.diskBytes === stateDiskSize(meta?.backing ?? releaseBacking(manifest));
}

type Plan = { kind: StartKind; reason: string; start: MachineStart; session?: SessionMeta; snapshotSha256?: string };

/** A machine with the holder through which it reports to its UML control, once that exists. */
interface Assembled {
  machine: Machine;
  link: { uml?: UmlControl };
}

/** A machine prepareEarly started for the boot the page's address asks for. */
interface Prepared extends Assembled {
  identity: StartIdentity;
  plan: Plan;
  disk: PersistentOverlay;
  network: LateNetwork;
  reports: HeldReports;
  state: "waiting" | "taken" | "expired";
}

/** How long a prepared machine waits for its boot: past the page's slowest start, short of holding memory for long. */
const PREPARED_EXPIRY_MS = 60_000;

/** What decides the machine a boot makes (see StartIdentity): the same for a boot and its prepared machine. */
function startIdentity(options: Pick<BootOptions, "manifestUrl" | "kernel">, manifest: ImageManifest, lab: string, choice: StartChoice, meta: OverlayMeta | undefined): StartIdentity {
  const start = choice.kind === "snapshot" ? `snapshot ${choice.snapshot.sha256}` : choice.kind === "resume" ? `resume ${choice.session.id}` : choice.kind;
  return { manifestUrl: options.manifestUrl, inputsHash: manifest.inputsHash, lab, kernel: options.kernel, start, disk: meta ? `${meta.id}@${meta.generation}` : "none" };
}

/** How a boot starts, before a resumed session's state is read; `otherwise` applies if that state is gone. */
type SettledChoice = { kind: "snapshot"; reason: string; snapshot: ManifestSnapshot } | { kind: "cold"; reason: string } | { kind: "error"; error: string };
type StartChoice = SettledChoice | { kind: "resume"; reason: string; session: SessionMeta; otherwise: SettledChoice };

function planOf(choice: SettledChoice): Plan | { error: string } {
  if (choice.kind === "error") return { error: choice.error };
  if (choice.kind === "cold") return { kind: "cold", reason: choice.reason, start: { kind: "cold" } };
  const { snapshot } = choice;
  return { kind: "snapshot", reason: choice.reason, start: { kind: "snapshot", artifact: snapshot, hostMemoryMiB: snapshot.hostMemoryMiB }, snapshotSha256: snapshot.sha256 };
}

function toSessionInfo(meta: SessionMeta, overlay: OverlayMeta | undefined): SessionInfo {
  return {
    id: meta.id,
    lab: meta.lab,
    savedAt: meta.savedAt,
    kind: meta.kind,
    kernel: meta.kernel,
    bytes: meta.bytes,
    current: overlay !== undefined && overlay.id === meta.overlayId && overlay.generation === meta.generation,
  };
}

/** The page's manifest, where the page and the worker's own calls look for it. */
const MANIFEST_URL = new URL("/images/manifest.json", self.location.origin).toString();
/** How long a manifest fetched at the worker's start may stand in for the first boot's own fetch. */
const PREFETCH_FRESH_MS = 10_000;

/** Fetched as the worker starts, before the page (still building its UI) asks for a boot. */
let manifestPrefetch: { url: string; at: number; response: Promise<Response> } | undefined;

function prefetchManifest(): void {
  const response = fetch(MANIFEST_URL, { cache: "no-cache" });
  response.catch(() => undefined);
  manifestPrefetch = { url: MANIFEST_URL, at: Date.now(), response };
}

/** The manifest at `url`: the prefetched response if it is for that URL and recent, else a new fetch. */
function fetchManifest(url: string): Promise<Response> {
  const prefetched = manifestPrefetch;
  manifestPrefetch = undefined;
  if (prefetched?.url === url && Date.now() - prefetched.at < PREFETCH_FRESH_MS) return prefetched.response.then((r) => r.clone());
  return fetch(url, { cache: "no-cache" });
}

/** Like fetchManifest, but leaves the prefetched response for the boot. */
function peekManifest(url: string): Promise<Response> {
  const prefetched = manifestPrefetch;
  if (prefetched?.url === url && Date.now() - prefetched.at < PREFETCH_FRESH_MS) return prefetched.response.then((r) => r.clone());
  return fetch(url, { cache: "no-cache" });
}

/** v86's wasm, fetched gzipped (vite.config.ts makes the copy), inflated and compiled once per worker. */
let v86Loader: WasmLoader | undefined;

function v86Wasm(): WasmLoader {
  if (v86Loader) return v86Loader;
  const loader = wasmLoader(
    (async () => {
      const response = await fetch(wasmGzUrl);
      if (!response.ok) throw new Error(`could not fetch the emulator core ${wasmGzUrl} (HTTP ${response.status})`);
      return gunzipIfGzip(new Uint8Array(await response.arrayBuffer()));
    })(),
  );
  // A failed fetch is tried again by the next boot (Retry).
  loader.ready.catch(() => {
    if (v86Loader === loader) v86Loader = undefined;
  });
  v86Loader = loader;
  return loader;
}

async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The machine and v86 (two thirds of this worker's code) load as a chunk of their own, started here: the
 * manifest, the lab's records and the downloads need none of it, so they begin while it loads.
 */
const machineModule = import("./core/machine.ts");
machineModule.catch(() => undefined);

const emulatorWorker = new EmulatorWorker();
Comlink.expose(emulatorWorker);
// The page's first boot needs these; started here, they overlap the page building its UI.
prefetchManifest();
v86Wasm();
void openArtifactCache();
emulatorWorker.openStorage();
// Read from the name at once: a message would wait for the page's main thread, busy building the UI.
const hint = prefetchHintFromName(self.name, self.location.origin);
if (hint) emulatorWorker.prefetch(hint);
