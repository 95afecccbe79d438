/**
 * The simulator runs every validator in one process, so the same QC is verified
 * by all of them. A verification is a pure function of its inputs, so memoizing
 * it by the exact bytes changes no outcome (a forged or altered signature is a
 * different key) and only saves CPU. Benchmarks do not use this.
 */
import type { BlsBackend } from "@ordo/core";
import { toHex } from "@ordo/core";

export function memoizeVerification(inner: BlsBackend): BlsBackend {
  const cache = new Map<string, boolean>();
  const remember = (key: string, f: () => boolean): boolean => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const v = f();
    if (cache.size > 200_000) cache.clear();
    cache.set(key, v);
    return v;
  };
  return {
    ...inner,
    verify: (pk, msg, sig) => remember(`v${toHex(pk)}${toHex(msg)}${toHex(sig)}`, () => inner.verify(pk, msg, sig)),
    fastAggregateVerify: (pks, msg, sig) =>
      remember(`f${pks.map(toHex).join("")}${toHex(msg)}${toHex(sig)}`, () => inner.fastAggregateVerify(pks, msg, sig)),
    aggregateVerify: (pks, msgs, sig) =>
      remember(`a${pks.map(toHex).join("")}|${msgs.map(toHex).join("")}${toHex(sig)}`, () =>
        inner.aggregateVerify(pks, msgs, sig),
      ),
  };
}
