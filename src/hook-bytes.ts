// Bytes across the test hook: page.evaluate carries JSON, so tests pass number arrays or base64 strings.

/** A string is base64; an array holds byte values. */
export function bytesFromHook(input: readonly number[] | string): Uint8Array {
  if (typeof input !== "string") return Uint8Array.from(input, (n) => n & 0xff);
  const binary = atob(input);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function base64FromBytes(bytes: Uint8Array): string {
  let binary = "";
  // Chunked: String.fromCharCode with a whole file's bytes as arguments overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
