// zstd through Debian's zstd binary: level 19 with long matching is several times smaller than gzip here.
import { run } from "./progress.ts";

export async function zstdCompressFile(input: string, output: string): Promise<void> {
  await run("zstd", ["-q", "-f", "-19", "-T0", input, "-o", output]);
}
