// Gzip with the platform's DecompressionStream (browsers, workers and Node alike).
import { sniffGzip } from "./uml-cow.ts";

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function gunzip(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The bytes, inflated if they are gzip. A server may send a .gz file with Content-Encoding: gzip (vite
 * preview does), and then the browser has inflated it already.
 */
export async function gunzipIfGzip(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return sniffGzip(bytes) ? gunzip(bytes) : new Uint8Array(bytes);
}
