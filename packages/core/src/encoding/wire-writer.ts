/**
 * A hand-written MessagePack writer for the wire's only shapes: unsigned
 * integers, byte strings and arrays. msgpackr spends ~370 ns on each
 * `Uint8Array` (its extension lookup), which for payloads of many small
 * transactions costs ten times the copying. The bytes are exactly what msgpackr
 * (`useRecords: false`) writes for the same value; the codec tests check it.
 */
const MAX_UINT32 = 0xffff_ffff;

/** A value the canonical writer handles: unsigned safe integers, byte strings and arrays of them. */
export type Wire = number | Uint8Array | readonly Wire[];

function uintSize(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${n} is not an unsigned safe integer`);
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x1_0000 ? 3 : n <= MAX_UINT32 ? 5 : 9;
}

function measure(w: Wire): number {
  if (typeof w === "number") return uintSize(w);
  if (w instanceof Uint8Array) return (w.length < 0x100 ? 2 : w.length < 0x1_0000 ? 3 : 5) + w.length;
  let n = w.length < 0x10 ? 1 : w.length < 0x1_0000 ? 3 : 5;
  for (const c of w) n += measure(c);
  return n;
}

/** Shortest uint, array and bin headers; ints above 2^32-1 as int64 (`0xd3`), as msgpackr writes a bigint. */
export function packWire(w: Wire): Uint8Array {
  const out = new Uint8Array(measure(w));
  let pos = 0;
  const u16 = (n: number): void => {
    out[pos++] = n >>> 8;
    out[pos++] = n & 0xff;
  };
  const u32 = (n: number): void => {
    out[pos++] = n >>> 24;
    out[pos++] = (n >>> 16) & 0xff;
    out[pos++] = (n >>> 8) & 0xff;
    out[pos++] = n & 0xff;
  };
  /** A length header: fix form (`fix`, below 16) if the type has one, else 8-bit (`b8`) if it has one, 16 or 32 bits. */
  const header = (n: number, fix: number | null, b8: number | null, b16: number, b32: number): void => {
    if (fix !== null && n < 0x10) out[pos++] = fix | n;
    else if (b8 !== null && n < 0x100) {
      out[pos++] = b8;
      out[pos++] = n;
    } else if (n < 0x1_0000) {
      out[pos++] = b16;
      u16(n);
    } else {
      out[pos++] = b32;
      u32(n);
    }
  };
  const put = (v: Wire): void => {
    if (typeof v === "number") {
      if (v < 0x80) out[pos++] = v;
      else if (v < 0x100) {
        out[pos++] = 0xcc;
        out[pos++] = v;
      } else if (v < 0x1_0000) {
        out[pos++] = 0xcd;
        u16(v);
      } else if (v <= MAX_UINT32) {
        out[pos++] = 0xce;
        u32(v);
      } else {
        out[pos++] = 0xd3;
        u32(Math.floor(v / 2 ** 32));
        u32(v >>> 0);
      }
    } else if (v instanceof Uint8Array) {
      header(v.length, null, 0xc4, 0xc5, 0xc6);
      out.set(v, pos);
      pos += v.length;
    } else {
      header(v.length, 0x90, null, 0xdc, 0xdd);
      for (const c of v) put(c);
    }
  };
  put(w);
  return out;
}
