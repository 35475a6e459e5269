// One way to turn anything thrown (an Error, a comlink-forwarded rejection, a string) into a message.

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
