// Content hashes for cache keys (whole recipe folders) and for the manifest (single files).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, readdir, readlink, lstat } from "node:fs/promises";
import path from "node:path";

/** Hash of a file or folder: relative paths, modes, link targets and contents, in sorted order. */
export async function hashTree(root: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    const rel = path.relative(root, p) || ".";
    if (st.isSymbolicLink()) {
      h.update(`L ${rel} ${await readlink(p)}\n`);
    } else if (st.isDirectory()) {
      h.update(`D ${rel}\n`);
      for (const entry of (await readdir(p)).sort()) await walk(path.join(p, entry));
    } else {
      h.update(`F ${rel} ${(st.mode & 0o111) !== 0 ? "x" : "-"}\n`);
      h.update(await readFile(p));
    }
  };
  await walk(root);
  return h.digest("hex");
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file)
      .on("data", (c) => h.update(c))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}
