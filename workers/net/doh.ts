// DNS-over-HTTPS (RFC 8484) as an outside resolver: the guest's raw query is POSTed as
// application/dns-message and the server's raw reply goes back to the guest unchanged.
import type { DnsResolver } from "./transport.ts";

import type { FetchFunction } from "./fetch-transport.ts";

/** A resolver that asks the DoH endpoint `url` (e.g. https://cloudflare-dns.com/dns-query). */
export function dohResolver(fetchFn: FetchFunction, url: string, timeoutMs = 5000): DnsResolver {
  return async (query) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetchFn(url, {
        method: "POST",
        headers: [["content-type", "application/dns-message"], ["accept", "application/dns-message"]],
        body: query.slice(),
        signal: controller.signal,
        redirect: "follow",
        cache: "no-store",
        credentials: "omit",
      });
      if (!response.ok) throw new Error(`DNS-over-HTTPS answered HTTP ${response.status}`);
      if (!(response.headers.get("content-type") ?? "").startsWith("application/dns-message")) throw new Error("DNS-over-HTTPS answered something other than application/dns-message");
      const reply = new Uint8Array(await response.arrayBuffer());
      // The reply must be for this query: same ID, and the QR bit set.
      if (reply.length < 12 || reply[0] !== query[0] || reply[1] !== query[1] || ((reply[2] ?? 0) & 0x80) === 0) throw new Error("DNS-over-HTTPS reply does not match the query");
      return reply;
    } finally {
      clearTimeout(timer);
    }
  };
}
