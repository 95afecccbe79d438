/** Command-line errors the user can fix by changing the arguments (exit code 2). */
export class UsageError extends Error {}

export function int(name: string, v: string | undefined, dflt: number, lo: number, hi: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi)
    throw new UsageError(`--${name} must be an integer from ${lo} to ${hi}, got "${v}"`);
  return n;
}
