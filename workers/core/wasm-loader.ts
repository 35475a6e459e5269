// Compiles v86's wasm once and instantiates it per emulator: the WasmLoader that Machine hands to v86
// (wasm_fn), for the worker (the gzipped copy it fetched) and for Node (the npm package's file).
import type { WasmLoader } from "./machine.ts";

/** The WebAssembly global, typed structurally: Node's type declarations (the cli's config) have none. */
interface WasmApi {
  compile(bytes: Uint8Array<ArrayBuffer>): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: object }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * A loader for the module in `bytes`. `ready` rejects with the fetch's or the compiler's error; it is
 * handled here too, so a boot that ends before awaiting it leaves nothing unhandled.
 */
export function wasmLoader(bytes: Promise<Uint8Array<ArrayBuffer>>): WasmLoader {
  const module = bytes.then((b) => wasmApi.compile(b));
  const ready = module.then(() => undefined);
  ready.catch(() => undefined);
  type Exports = Awaited<ReturnType<WasmLoader["instantiate"]>>;
  return { ready, instantiate: async (imports) => (await wasmApi.instantiate(await module, imports)).exports as Exports };
}
