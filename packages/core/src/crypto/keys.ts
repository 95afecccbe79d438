import { proofOfPossessionDigest } from "../hashing.js";
import { type BlsBackend, keyGen } from "./bls.js";

export interface ValidatorKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  proofOfPossession: Uint8Array;
}

/** A validator key from ≥ 32 bytes of key material, with its proof of possession. */
export function generateValidatorKey(bls: BlsBackend, ikm: Uint8Array): ValidatorKey {
  const secretKey = keyGen(ikm);
  const publicKey = bls.publicKey(secretKey);
  return { secretKey, publicKey, proofOfPossession: bls.sign(secretKey, proofOfPossessionDigest(publicKey)) };
}
