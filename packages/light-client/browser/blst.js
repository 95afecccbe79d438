/**
 * `@chainsafe/blst` for the browser bundle: the native addon cannot load there,
 * so these stand-ins keep `blstBackend`'s imports resolvable and throw if it is
 * ever called. Browsers verify with `nobleBackend`.
 */
function unavailable() {
  throw new Error("@chainsafe/blst is native and not in the browser bundle: use nobleBackend");
}

const parser = { fromBytes: unavailable, fromHex: unavailable };

export const PublicKey = parser;
export const Signature = parser;
export const SecretKey = { ...parser, fromKeygen: unavailable };
export const verify = unavailable;
export const aggregateSignatures = unavailable;
export const aggregatePublicKeys = unavailable;
export const fastAggregateVerify = unavailable;
export const aggregateVerify = unavailable;
