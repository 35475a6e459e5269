// Types for the parts of @mercuryworkshop/wisp-js (0.5, plain JavaScript) that scripts/wisp-relay.ts uses.
declare module "@mercuryworkshop/wisp-js/server" {
  /** What wisp-js's ServerConnection touches on a WebSocket (its AsyncWebSocket wrapper). */
  export interface WispServerSocket {
    onopen: (() => void) | null;
    onmessage: ((event: { data: ArrayBuffer }) => void) | null;
    onclose: (() => void) | null;
    readonly readyState: number;
    readonly OPEN: number;
    readonly bufferedAmount: number;
    send(data: Uint8Array): void;
    close(code?: number, reason?: string): void;
    ping(): void;
  }

  export interface ServerConnection {
    setup(): Promise<void>;
    run(): Promise<void>;
  }

  export const server: {
    ServerConnection: new (ws: WispServerSocket, path: string, options?: { wisp_version?: 1 | 2; ping_interval?: number }) => ServerConnection;
    /** Process-wide settings of the wisp-js server. */
    options: {
      allow_private_ips: boolean;
      allow_loopback_ips: boolean;
      allow_direct_ip: boolean;
      allow_udp_streams: boolean;
      allow_tcp_streams: boolean;
      stream_limit_total: number;
    };
  };

  export const logging: {
    set_level(level: number): void;
    readonly DEBUG: number;
    readonly INFO: number;
    readonly WARN: number;
    readonly ERROR: number;
    readonly NONE: number;
  };
}
