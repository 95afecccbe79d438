/**
 * Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d, the one most Reed-Solomon
 * implementations use; 2 generates its multiplicative group), and the little linear algebra the erasure code
 * needs: Cauchy coefficients, inversion of a k×k matrix, and the nibble tables the kernels multiply with.
 *
 * Changing the polynomial or the Cauchy points changes every parity shard: they are part of the embedded DA
 * layer's wire format.
 */

/** The reduction polynomial, with its x^8 term. */
export const GF_POLY = 0x11d;

/** EXP[i] = 2^i, doubled in length so `EXP[LOG[a] + LOG[b]]` needs no `% 255`. */
const EXP = new Uint8Array(510);
/** LOG[a] = i with 2^i = a, for a ≠ 0 (LOG[0] is unused). */
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    EXP[i + 255] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLY;
  }
}

export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

export function gfInv(a: number): number {
  if (a === 0) throw new Error("GF(2^8): 0 has no inverse");
  return EXP[255 - LOG[a]!]!;
}

/** Rows of GF(2^8) elements. */
export type GfMatrix = Uint8Array[];

/**
 * The m×k Cauchy matrix C[i][j] = 1 / (x_i + y_j) with x_i = k + i and y_j = j (addition is XOR; the k + m
 * points are distinct because k + m ≤ 256). Every square submatrix of a Cauchy matrix is invertible, so the
 * generator [I_k; C] is MDS: any k of its k + m rows are independent, which is what lets any k shards rebuild.
 */
export function cauchyMatrix(k: number, m: number): GfMatrix {
  const rows: GfMatrix = [];
  for (let i = 0; i < m; i++) {
    const row = new Uint8Array(k);
    for (let j = 0; j < k; j++) row[j] = gfInv((k + i) ^ j);
    rows.push(row);
  }
  return rows;
}

/** The inverse of a square matrix by Gauss-Jordan elimination; throws if it is singular. Does not modify `a`. */
export function invertMatrix(a: GfMatrix): GfMatrix {
  const n = a.length;
  const work = a.map((row) => {
    if (row.length !== n) throw new Error("invertMatrix: not a square matrix");
    return Uint8Array.from(row);
  });
  const inv: GfMatrix = [];
  for (let i = 0; i < n; i++) {
    const row = new Uint8Array(n);
    row[i] = 1;
    inv.push(row);
  }
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && work[pivot]![col] === 0) pivot++;
    if (pivot === n) throw new Error("invertMatrix: singular matrix");
    if (pivot !== col) {
      [work[col], work[pivot]] = [work[pivot]!, work[col]!];
      [inv[col], inv[pivot]] = [inv[pivot]!, inv[col]!];
    }
    const w = work[col]!;
    const v = inv[col]!;
    const f = gfInv(w[col]!);
    for (let c = 0; c < n; c++) {
      w[c] = gfMul(w[c]!, f);
      v[c] = gfMul(v[c]!, f);
    }
    for (let r = 0; r < n; r++) {
      const g = work[r]![col]!;
      if (r === col || g === 0) continue;
      const wr = work[r]!;
      const vr = inv[r]!;
      for (let c = 0; c < n; c++) {
        wr[c] = wr[c]! ^ gfMul(g, w[c]!);
        vr[c] = vr[c]! ^ gfMul(g, v[c]!);
      }
    }
  }
  return inv;
}

/** Bytes of nibble tables per coefficient: 16 for the low nibble, 16 for the high one. */
export const TABLE_BYTES = 32;

/**
 * The kernels' multiplication tables for `coefficients`, 32 bytes each: c·x for x = 0..15, then c·(x << 4)
 * for x = 0..15. Multiplication distributes over XOR, so c·b = lo[b & 15] ^ hi[b >> 4]; two 16-entry tables
 * are exactly what one SIMD byte shuffle (`i8x16.swizzle`) looks up, 16 bytes at a time.
 */
export function writeMulTables(coefficients: Uint8Array, out: Uint8Array, offset: number): void {
  for (let j = 0; j < coefficients.length; j++) {
    const c = coefficients[j]!;
    const at = offset + j * TABLE_BYTES;
    for (let x = 0; x < 16; x++) {
      out[at + x] = gfMul(c, x);
      out[at + 16 + x] = gfMul(c, x << 4);
    }
  }
}
