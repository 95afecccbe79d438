import { bls12_381 } from "@noble/curves/bls12-381.js";
import { BLS_DST, type BlsBackend, BlsError, CURVE_ORDER, falseOnThrow, PublicKeyCache } from "./bls.js";

const sigs = bls12_381.longSignatures;
type G1Point = ReturnType<typeof sigs.getPublicKey>;
type G2Point = ReturnType<typeof sigs.hash>;

const publicKeys = new PublicKeyCache((bytes): G1Point => {
  let pk: G1Point;
  try {
    pk = bls12_381.G1.Point.fromBytes(bytes);
    pk.assertValidity();
  } catch (e) {
    throw new BlsError(`invalid public key: ${(e as Error).message}`);
  }
  if (pk.is0()) throw new BlsError("invalid public key: identity");
  return pk;
});
const parsePublicKey = (bytes: Uint8Array) => publicKeys.get(bytes);

function parseSignature(bytes: Uint8Array): G2Point {
  if (bytes.length !== 96) throw new BlsError(`signature must be 96 bytes, got ${bytes.length}`);
  try {
    const p = sigs.Signature.fromBytes(bytes);
    p.assertValidity();
    return p;
  } catch (e) {
    throw new BlsError(`invalid signature: ${(e as Error).message}`);
  }
}

const hashToG2 = (msg: Uint8Array): G2Point => sigs.hash(msg, BLS_DST);

/** noble refuses to encode the identity; report it as blst's backend does. */
function identityAsBlsError(what: string, f: () => Uint8Array): Uint8Array {
  try {
    return f();
  } catch (e) {
    throw new BlsError(`aggregate ${what} is the identity`, { cause: e });
  }
}

/** Secret keys must be in [1, r): noble would silently reduce larger ones, blst rejects them. */
function checkSecretKey(sk: Uint8Array): Uint8Array {
  if (sk.length !== 32) throw new BlsError(`secret key must be 32 bytes, got ${sk.length}`);
  let x = 0n;
  for (const b of sk) x = (x << 8n) | BigInt(b);
  if (x === 0n || x >= CURVE_ORDER) throw new BlsError("secret key out of range");
  return sk;
}

/** Pure-JS BLS through @noble/curves (tens of ms per operation; portable). */
export const nobleBackend: BlsBackend = {
  name: "noble",
  publicKey(sk) {
    try {
      return sigs.getPublicKey(checkSecretKey(sk)).toBytes(true);
    } catch (e) {
      throw new BlsError(`invalid secret key: ${(e as Error).message}`);
    }
  },
  sign(sk, msg) {
    try {
      return sigs.Signature.toBytes(sigs.sign(hashToG2(msg), checkSecretKey(sk)));
    } catch (e) {
      throw new BlsError(`invalid secret key: ${(e as Error).message}`);
    }
  },
  verify: (pk, msg, sig) => falseOnThrow(() => sigs.verify(parseSignature(sig), hashToG2(msg), parsePublicKey(pk))),
  aggregateSignatures(list) {
    if (list.length === 0) throw new BlsError("cannot aggregate zero signatures");
    const parsed = list.map(parseSignature);
    return identityAsBlsError("signature", () => sigs.Signature.toBytes(sigs.aggregateSignatures(parsed)));
  },
  aggregatePublicKeys(pks) {
    if (pks.length === 0) throw new BlsError("cannot aggregate zero public keys");
    const parsed = pks.map(parsePublicKey);
    return identityAsBlsError("public key", () => sigs.aggregatePublicKeys(parsed).toBytes(true));
  },
  fastAggregateVerify: (pks, msg, sig) =>
    pks.length > 0 &&
    falseOnThrow(() =>
      sigs.verify(parseSignature(sig), hashToG2(msg), sigs.aggregatePublicKeys(pks.map(parsePublicKey))),
    ),
  aggregateVerify: (pks, msgs, sig) =>
    pks.length > 0 &&
    pks.length === msgs.length &&
    falseOnThrow(() =>
      sigs.verifyBatch(
        parseSignature(sig),
        pks.map((pk, i) => ({ message: hashToG2(msgs[i] as Uint8Array), publicKey: parsePublicKey(pk) })),
      ),
    ),
  isValidPublicKey: (pk) =>
    falseOnThrow(() => {
      parsePublicKey(pk);
      return true;
    }),
};
