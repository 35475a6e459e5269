// zstd through Debian's zstd binary: level 19 is several times smaller than gzip here.
import { run } from "./progress.ts";

/**
 * `windowLog`: a match window of 2^windowLog bytes (zstd --long), for files whose repeats lie far apart.
 * Decoders that stream need that much memory; the page's (v86's for states, fzstd) take 2^26 without asking.
 */
export async function zstdCompressFile(input: string, output: string, options: { windowLog?: number } = {}): Promise<void> {
  const long = options.windowLog ? [`--long=${options.windowLog}`] : [];
  await run("zstd", ["-q", "-f", "-19", ...long, "-T0", input, "-o", output]);
}
