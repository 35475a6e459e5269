// The boot progress panel: the stage list with timings, how the machine started, downloads, and the halted notice.
import { downloadTotals, opensDownloadList, rowElapsed, STAGE_LABELS, VISIBLE_STAGES, type BootState, type DownloadRow, type VisibleStage } from "./boot-state.ts";
import { el, setText } from "./dom.ts";
import { formatBytes, formatSeconds, percent } from "./format.ts";

/** A cold boot's list of downloads opens by itself only when they are still going after this long. */
const DOWNLOADS_OPEN_DELAY_MS = 400;

interface StageItem {
  item: HTMLLIElement;
  time: HTMLSpanElement;
  state: HTMLSpanElement;
}

interface DownloadItem {
  item: HTMLLIElement;
  fill: HTMLDivElement;
  bar: HTMLDivElement;
  bytes: HTMLSpanElement;
  pct: HTMLSpanElement;
}

export class BootView {
  readonly element: HTMLElement;
  private readonly stages = new Map<VisibleStage, StageItem>();
  private readonly downloads = new Map<string, DownloadItem>();
  private readonly downloadList = el("ul", { class: "downloads-list" });
  private readonly details = el("details", { class: "downloads" });
  private readonly summaryText = el("span", { class: "downloads-summary-text" });
  private readonly totalFill = el("div", { class: "bar-fill" });
  private readonly totalBar = el("div", { class: "bar", attrs: { role: "progressbar", "aria-label": "Total download", "aria-valuemin": "0", "aria-valuemax": "100" } }, this.totalFill);
  private readonly startInfo = el("p", { class: "start-info", attrs: { "data-testid": "start-info" } });
  private readonly halted = el("div", { class: "halted", attrs: { role: "alert", "data-testid": "halted" } });
  private readonly haltedDetail = el("span", { class: "halted-detail" });
  /** The panel opens a cold boot's downloads by itself (opensDownloadList) and closes them once they finish; the user may toggle freely. */
  private autoOpened = false;
  private autoClosed = false;
  private latest: BootState | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(onRestart: () => void) {
    const list = el("ol", { class: "stage-list", attrs: { "data-testid": "stage-list", "aria-label": "Boot stages" } });
    for (const stage of VISIBLE_STAGES) {
      const time = el("span", { class: "stage-time" });
      // The mark shows the state by shape and colour; screen readers get it in words.
      const state = el("span", { class: "sr-only" });
      const item = el(
        "li",
        { class: "stage", attrs: { "data-stage": stage, "data-state": "pending" } },
        el("span", { class: "stage-mark", attrs: { "aria-hidden": "true" } }),
        el("span", { class: "stage-label", text: STAGE_LABELS[stage] }),
        state,
        time,
      );
      list.append(item);
      this.stages.set(stage, { item, time, state });
    }
    this.details.append(el("summary", {}, this.summaryText, this.totalBar), this.downloadList);
    const restart = el("button", { class: "button", text: "Restart", attrs: { type: "button", "data-testid": "halted-restart" } });
    restart.addEventListener("click", onRestart);
    this.halted.append(el("strong", { text: "UML halted" }), this.haltedDetail, restart);
    this.halted.hidden = true;
    this.startInfo.hidden = true;
    this.element = el("section", { class: "boot-panel", attrs: { "aria-label": "Boot progress" } }, el("div", { class: "boot-row" }, list, this.startInfo), this.halted, this.details);
  }

  /** Forgets the previous boot's artifacts and toggles. */
  reset(): void {
    this.downloads.clear();
    this.downloadList.replaceChildren();
    this.details.open = false;
    this.autoOpened = false;
    this.autoClosed = false;
    this.latest = undefined;
    clearTimeout(this.openTimer);
  }

  /** `now` is worker time (ms since boot start), used for the running stage's clock; `start` says how the machine started. */
  render(state: BootState, now: number, start?: string): void {
    this.startInfo.hidden = start === undefined;
    setText(this.startInfo, start ?? "");
    const kind = state.start?.kind ?? "";
    if (this.startInfo.dataset.kind !== kind) this.startInfo.dataset.kind = kind;
    for (const row of state.rows) {
      const view = this.stages.get(row.stage);
      if (!view) continue;
      if (view.item.dataset.state !== row.state) view.item.dataset.state = row.state;
      // A skipped row says so visibly in its time slot; screen readers would hear it twice.
      setText(view.state, row.state === "skipped" ? "" : ` (${row.state})`);
      view.item.classList.toggle("stalled", row.state === "active" && row.endedAt !== undefined);
      const elapsed = rowElapsed(row, now);
      let text = elapsed === undefined ? (row.state === "done" ? "–" : row.state === "skipped" ? "skipped" : "") : formatSeconds(elapsed);
      // Ready has no duration of its own: show how long the whole boot took.
      if (row.stage === "ready") text = row.startedAt === undefined ? "" : `in ${formatSeconds(row.startedAt)}`;
      setText(view.time, text);
    }
    this.renderDownloads(state);
    this.halted.hidden = state.halted === undefined;
    setText(this.haltedDetail, state.halted ?? "");
  }

  private renderDownloads(state: BootState): void {
    // Shown from the start, empty or not, so the terminal below keeps its size as the downloads begin.
    this.details.classList.toggle("empty", state.downloads.length === 0);
    for (const row of state.downloads) this.renderDownload(row);
    const { loaded, total } = downloadTotals(state);
    const pct = percent(loaded, total);
    const download = state.rows[0];
    const done = download?.state === "done";
    const files = `${state.downloads.length} file${state.downloads.length === 1 ? "" : "s"}`;
    const took = download ? rowElapsed(download, 0) : undefined;
    const amounts = `${formatBytes(loaded)} of ${formatBytes(total)} (${pct}%)`;
    setText(
      this.summaryText,
      state.downloads.length === 0
        ? "Downloads: none yet"
        : done
          ? `Downloaded ${files}, ${formatBytes(loaded)}${took === undefined ? "" : ` in ${formatSeconds(took)}`}`
          : state.failed !== undefined || state.halted !== undefined
            ? `Stopped after ${files}: ${amounts}`
            : `Downloading ${files}: ${amounts}`,
    );
    this.details.classList.toggle("complete", done);
    this.totalFill.style.width = `${pct}%`;
    this.totalBar.setAttribute("aria-valuenow", String(pct));
    this.latest = state;
    if (!this.autoOpened && opensDownloadList(state)) {
      this.autoOpened = true;
      // Downloads that finish quickly never open the list, which would move the terminal twice.
      this.openTimer = setTimeout(() => {
        if (this.latest && opensDownloadList(this.latest)) this.details.open = true;
      }, DOWNLOADS_OPEN_DELAY_MS);
    }
    if (!this.autoClosed && done) {
      this.autoClosed = true;
      this.details.open = false;
    }
  }

  private renderDownload(row: DownloadRow): void {
    let view = this.downloads.get(row.file);
    if (!view) {
      const fill = el("div", { class: "bar-fill" });
      const bar = el("div", { class: "bar", attrs: { role: "progressbar", "aria-label": row.file, "aria-valuemin": "0", "aria-valuemax": "100" } }, fill);
      const bytes = el("span", { class: "download-bytes" });
      const pct = el("span", { class: "download-pct" });
      const item = el("li", { class: "download", attrs: { "data-file": row.file } }, el("span", { class: "download-file", text: row.file, attrs: { title: row.file } }), bar, bytes, pct);
      view = { item, fill, bar, bytes, pct };
      this.downloads.set(row.file, view);
      this.downloadList.append(item);
    }
    const pct = percent(row.loaded, row.total);
    setText(view.bytes, `${formatBytes(row.loaded)} / ${formatBytes(row.total)}`);
    setText(view.pct, `${pct}%`);
    view.fill.style.width = `${pct}%`;
    view.bar.setAttribute("aria-valuenow", String(pct));
    view.item.classList.toggle("complete", row.total > 0 && row.loaded >= row.total);
  }
}
