/**
 * The bundle encoding: what is encoded decodes to the same blocks; any other bytes (random, truncated,
 * bit-flipped, with a lying count) decode to a `DecodeError` or to blocks that re-encode to exactly those bytes.
 */
import { DecodeError } from "@ordo/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUNDLE_HEADER_BYTES, bundleSize, decodeBundle, encodeBundle } from "../src/posting/block-bundle.js";

const entries = fc
  .uniqueArray(
    fc.record({ height: fc.nat({ max: Number.MAX_SAFE_INTEGER }), payload: fc.uint8Array({ maxLength: 300 }) }),
    { selector: (e) => e.height, maxLength: 12 },
  )
  .map((es) => es.sort((a, b) => a.height - b.height));

/** Decodes, and if that succeeds, checks the encoding was canonical. */
function decodesCanonicallyOrRefuses(bytes: Uint8Array): void {
  let decoded: ReturnType<typeof decodeBundle>;
  try {
    decoded = decodeBundle(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return;
  }
  expect(encodeBundle(decoded)).toEqual(bytes);
}

describe("block bundle", () => {
  it("decodes what it encodes, in the size bundleSize says", () => {
    fc.assert(
      fc.property(entries, (es) => {
        const bytes = encodeBundle(es);
        expect(bytes.length).toBe(bundleSize(es.map((e) => e.payload.length)));
        expect(decodeBundle(bytes)).toEqual(es);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses heights out of order when encoding", () => {
    const p = new Uint8Array(1);
    expect(() =>
      encodeBundle([
        { height: 5, payload: p },
        { height: 5, payload: p },
      ]),
    ).toThrow(RangeError);
    expect(() =>
      encodeBundle([
        { height: 6, payload: p },
        { height: 5, payload: p },
      ]),
    ).toThrow(RangeError);
  });

  it("never throws anything but a DecodeError on random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decodesCanonicallyOrRefuses), { numRuns: 1000 });
    // Random bytes behind a valid header reach the entry parser.
    fc.assert(
      fc.property(fc.nat({ max: 20 }), fc.uint8Array({ maxLength: 200 }), (count, rest) => {
        const bytes = new Uint8Array(BUNDLE_HEADER_BYTES + rest.length);
        bytes.set(encodeBundle([]).subarray(0, 5));
        new DataView(bytes.buffer).setUint32(5, count);
        bytes.set(rest, BUNDLE_HEADER_BYTES);
        decodesCanonicallyOrRefuses(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses truncated, extended and bit-flipped bundles, or decodes them canonically", () => {
    fc.assert(
      fc.property(entries, fc.nat(), fc.nat({ max: 7 }), (es, at, bit) => {
        const bytes = encodeBundle(es);
        if (bytes.length > 0) expect(() => decodeBundle(bytes.subarray(0, at % bytes.length))).toThrow(DecodeError);
        expect(() => decodeBundle(new Uint8Array([...bytes, 0]))).toThrow(DecodeError);
        const flipped = bytes.slice();
        const i = at % flipped.length;
        flipped[i] = (flipped[i] as number) ^ (1 << bit);
        decodesCanonicallyOrRefuses(flipped);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses a count the bytes cannot hold before allocating for it", () => {
    const bytes = encodeBundle([{ height: 1, payload: new Uint8Array(3) }]);
    new DataView(bytes.buffer).setUint32(5, 0xffffffff);
    expect(() => decodeBundle(bytes)).toThrow(/cannot hold/);
  });
});
