// Build-time settings the page reads from import.meta.env (set in the environment of `vite build`).
interface ImportMetaEnv {
  /** A Wisp relay (ws:// or wss://) the build boots with unless ?relay= says otherwise; "none" for none. */
  readonly VITE_UMLAB_RELAY?: string;
}
