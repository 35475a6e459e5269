// Modules that vite.config.ts makes up at build time.
declare module "virtual:v86-wasm-gz" {
  /** URL of v86.wasm, gzipped; the worker inflates it. */
  const url: string;
  export default url;
}
