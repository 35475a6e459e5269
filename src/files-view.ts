// The Files panel: the lab's hostfs share (/share, the host's /lab/share), listed with sizes and times;
// files come in by drag-and-drop (anywhere on the page), a folder picker or a file input, and go out by
// Download; Delete removes them. It shows the classic mount command for UML.
import type { SharedEntry } from "../workers/api.ts";
import { el, setText } from "./dom.ts";
import { downloadBlob } from "./download.ts";
import { errorText } from "./errors.ts";
import { filesFromDirectory, filesFromEntries, filesFromList, readWithProgress, type DirectoryHandleLike, type EntryLike, type PickedFile } from "./file-sources.ts";
import { formatBytes, formatWhen } from "./format.ts";
import { MessageBox, verbatim } from "./message-box.ts";
import { ProgressLine } from "./progress-line.ts";
import { baseName, MOUNT_COMMAND, SHARE_ROOT, sharePath, shareRows, totalBytes, type ShareRow } from "./shared-files.ts";
import type { ToolkitApi } from "./toolkit-api.ts";

export interface FilesCallbacks {
  /** Show the Files panel, e.g. when files were dropped on the page while it was closed. */
  reveal(): void;
  copyText(text: string): Promise<void>;
  confirmDelete(path: string): Promise<boolean>;
}

/** The File System Access API's folder picker, which only some browsers have. */
interface PickerWindow {
  showDirectoryPicker?: (options?: { mode?: "read" | "readwrite" }) => Promise<DirectoryHandleLike>;
}

export class FilesView {
  readonly element: HTMLElement;
  private readonly list = el("ul", { class: "share-list", attrs: { "data-testid": "files-list", "aria-label": `Files in ${SHARE_ROOT}` } });
  private readonly summary = el("p", { class: "tool-note", attrs: { "data-testid": "files-summary", role: "status" } });
  private readonly fileInput = el("input", { attrs: { type: "file", multiple: "", "data-testid": "files-input", "aria-label": `Files to copy into ${SHARE_ROOT}` } });
  private readonly folderInput = el("input", { attrs: { type: "file", multiple: "", webkitdirectory: "", "data-testid": "files-folder-input", "aria-label": `A folder to copy into ${SHARE_ROOT}` } });
  private readonly addButton = el("button", { class: "button small", text: "Add files…", attrs: { type: "button", "data-testid": "files-add" } });
  private readonly progress = new ProgressLine("files-progress", "Copying files into the share");
  private readonly message = new MessageBox("files-message");
  private readonly overlay = el("div", { class: "drop-overlay", attrs: { "data-testid": "drop-overlay", "aria-hidden": "true" } }, el("p", { text: `Drop files or folders to copy them into ${SHARE_ROOT}` }));
  /** Uploads run one after another, in the order they were asked for. */
  private queue: Promise<void> = Promise.resolve();
  private rows: ShareRow[] = [];

  constructor(
    private readonly api: Pick<ToolkitApi, "listShared" | "putShared" | "readShared" | "deleteShared">,
    private readonly callbacks: FilesCallbacks,
  ) {
    const add = this.addButton;
    const pick = el("button", { class: "button small", text: "Pick folder…", attrs: { type: "button", "data-testid": "files-pick-folder" } });
    const refresh = el("button", { class: "button small", text: "Refresh", attrs: { type: "button", "data-testid": "files-refresh" } });
    add.addEventListener("click", () => this.fileInput.click());
    pick.addEventListener("click", () => void this.pickFolder());
    refresh.addEventListener("click", () => void this.refresh());
    for (const input of [this.fileInput, this.folderInput]) {
      input.hidden = true;
      input.addEventListener("change", () => {
        const files = filesFromList(input.files ?? []);
        // Cleared so choosing the same files again still fires change.
        input.value = "";
        if (files.length > 0) void this.upload(files);
      });
    }

    const mount = el("code", { class: "mount-command", text: MOUNT_COMMAND, attrs: { "data-testid": "files-mount-command" } });
    const copy = el("button", { class: "button small", text: "Copy", attrs: { type: "button", "data-testid": "files-copy-mount", "aria-label": "Copy the mount command" } });
    copy.addEventListener("click", () => {
      this.callbacks.copyText(MOUNT_COMMAND).catch(() => {
        // No clipboard: select the command so Ctrl+C copies it.
        getSelection()?.selectAllChildren(mount);
      });
    });

    this.element = el(
      "section",
      { class: "tool-panel files-panel", attrs: { "data-testid": "files-panel", "aria-labelledby": "files-title" } },
      el("h2", { class: "tool-title", text: `Shared folder ${SHARE_ROOT}`, attrs: { id: "files-title" } }),
      el("p", { class: "tool-note", text: "UML's hostfs sees the host's /lab; this folder is /lab/share. Mount it in UML (after mkdir -p /mnt/host):" }),
      el("div", { class: "mount-row" }, mount, copy),
      el("div", { class: "tool-row" }, add, pick, refresh, this.fileInput, this.folderInput),
      el("p", { class: "tool-note drop-hint", text: "…or drop files and folders anywhere on the page." }),
      this.progress.element,
      this.message.element,
      this.summary,
      this.list,
    );
    this.overlay.hidden = true;
    document.body.append(this.overlay);
    this.watchDrops();
  }

  /** Where focus goes after a dialog about the list closes (the row it came from may be gone). */
  focus(): void {
    this.addButton.focus();
  }

  async refresh(): Promise<void> {
    let entries: SharedEntry[];
    try {
      entries = await this.api.listShared();
    } catch (err) {
      setText(this.summary, `Could not list the share: ${errorText(err)}`);
      this.summary.dataset.tone = "bad";
      return;
    }
    this.rows = shareRows(entries);
    const files = this.rows.filter((r) => r.kind === "file").length;
    setText(this.summary, files === 0 && this.rows.length === 0 ? "The share is empty." : `${files} file${files === 1 ? "" : "s"}, ${formatBytes(totalBytes(this.rows))}`);
    delete this.summary.dataset.tone;
    const now = Date.now();
    this.list.replaceChildren(...this.rows.map((row) => this.item(row, now)));
  }

  /** Copies files into /share (relative paths kept), one after another; resolves when these are done. */
  upload(files: readonly PickedFile[]): Promise<void> {
    this.callbacks.reveal();
    const run = this.queue.then(() => this.copyAll(files));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async copyAll(files: readonly PickedFile[]): Promise<void> {
    this.message.clear();
    if (files.length === 0) return this.message.show("Nothing to copy: there were no files in it.", "info");
    const total = files.reduce((n, f) => n + f.file.size, 0);
    const failures: string[] = [];
    let done = 0;
    let copied = 0;
    for (const [i, picked] of files.entries()) {
      const path = sharePath(picked.relativePath);
      if (path === undefined) {
        failures.push(`${picked.relativePath}: no usable file name`);
        continue;
      }
      const step = `${i + 1} of ${files.length}: ${path}`;
      try {
        const bytes = await readWithProgress(picked.file, (loaded) => this.progress.show(`Reading ${step}`, done + loaded, total));
        this.progress.show(`Storing ${step} (${formatBytes(bytes.length)}) on the host…`);
        await this.api.putShared(path, bytes);
        copied++;
      } catch (err) {
        failures.push(`${path}: ${errorText(err)}`);
      }
      done += picked.file.size;
    }
    this.progress.hide();
    if (failures.length > 0) this.message.show([`${failures.length} of ${files.length} file${files.length === 1 ? " was" : "s were"} not copied:`, verbatim(failures.join("\n"), "files-failures")]);
    else this.message.show(`Copied ${copied} file${copied === 1 ? "" : "s"} (${formatBytes(total)}) into ${SHARE_ROOT}.`, "info");
    await this.refresh();
  }

  private async pickFolder(): Promise<void> {
    const picker = (window as PickerWindow).showDirectoryPicker;
    // Without the File System Access API, a folder input does the same in every current browser.
    if (typeof picker !== "function") return this.folderInput.click();
    let files: PickedFile[];
    try {
      files = await filesFromDirectory(await picker.call(window, { mode: "read" }));
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") return;
      return this.message.show(`Could not read the folder: ${errorText(err)}`);
    }
    if (files.length === 0) return this.message.show("That folder has no files.", "info");
    await this.upload(files);
  }

  private item(row: ShareRow, now: number): HTMLLIElement {
    const name = el("span", { class: `share-name${row.kind === "dir" ? " dir" : ""}`, text: row.kind === "dir" ? `${row.name}/` : row.name, attrs: { title: row.path } });
    name.style.paddingInlineStart = `${row.depth * 14}px`;
    const facts = el("span", { class: "share-facts" }, el("span", { class: "share-size", text: row.kind === "dir" ? "folder" : formatBytes(row.size) }), el("span", { class: "share-time", text: formatWhen(row.mtime, now) }));
    const actions = el("span", { class: "share-actions" });
    if (row.kind === "file") {
      const download = el("button", { class: "button small", text: "Download", attrs: { type: "button", "data-testid": "files-download", "aria-label": `Download ${row.path}` } });
      download.addEventListener("click", () => void this.download(row.path, download));
      actions.append(download);
    }
    const remove = el("button", { class: "button small danger", text: "Delete", attrs: { type: "button", "data-testid": "files-delete", "aria-label": `Delete ${row.path}` } });
    remove.addEventListener("click", () => void this.remove(row.path));
    actions.append(remove);
    return el("li", { class: "share-item", attrs: { "data-path": row.path, "data-kind": row.kind } }, name, facts, actions);
  }

  private async download(path: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const bytes = await this.api.readShared(path);
      // A view on a plain ArrayBuffer is a BlobPart as it is; anything else is copied into one.
      const part = bytes.buffer instanceof ArrayBuffer ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes.slice();
      downloadBlob(new Blob([part]), baseName(path));
    } catch (err) {
      this.message.show(`Could not download ${path}: ${errorText(err)}`);
    } finally {
      button.disabled = false;
    }
  }

  private async remove(path: string): Promise<void> {
    if (!(await this.callbacks.confirmDelete(path))) return;
    try {
      await this.api.deleteShared(path);
      this.message.clear();
    } catch (err) {
      this.message.show(`Could not delete ${path}: ${errorText(err)}`);
    }
    await this.refresh();
  }

  /** Files dragged over any part of the page can be dropped into the share; other drags are left alone. */
  private watchDrops(): void {
    let depth = 0;
    const carriesFiles = (ev: DragEvent): boolean => ev.dataTransfer?.types.includes("Files") ?? false;
    document.addEventListener("dragenter", (ev) => {
      if (!carriesFiles(ev)) return;
      depth++;
      this.overlay.hidden = false;
    });
    document.addEventListener("dragleave", (ev) => {
      if (!carriesFiles(ev)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) this.overlay.hidden = true;
    });
    document.addEventListener("dragover", (ev) => {
      if (!carriesFiles(ev) || !ev.dataTransfer) return;
      // Without this the browser would open the file in place of the lab.
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("drop", (ev) => {
      depth = 0;
      this.overlay.hidden = true;
      const transfer = ev.dataTransfer;
      if (!transfer || !carriesFiles(ev)) return;
      ev.preventDefault();
      // The items are only readable during the event: take entries and files now, walk folders after.
      const entries: EntryLike[] = [];
      const plain: PickedFile[] = [];
      for (const item of transfer.items) {
        if (item.kind !== "file") continue;
        const entry = item.webkitGetAsEntry();
        const file = entry ? null : item.getAsFile();
        if (entry) entries.push(entry);
        else if (file) plain.push({ relativePath: file.name, file });
      }
      if (entries.length === 0 && plain.length === 0) plain.push(...filesFromList(transfer.files));
      void filesFromEntries(entries).then(
        (walked) => this.upload([...walked, ...plain]),
        (err: unknown) => this.message.show(`Could not read the dropped files: ${errorText(err)}`),
      );
    });
  }
}
