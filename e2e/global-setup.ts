// Before any browser starts: Debian's Chromium is installed and images/out is current (both no-ops when done).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildImages } from "../images/build.ts";
import { ensureDebianPackages } from "../images/pipeline/packages.ts";
import { Progress } from "../images/pipeline/progress.ts";

export default async function globalSetup(): Promise<void> {
  if (!process.env.UMLAB_CHROMIUM) {
    const progress = new Progress();
    await ensureDebianPackages(path.join(path.dirname(fileURLToPath(import.meta.url)), "debian-packages.txt"), progress);
  }
  await buildImages();
}
