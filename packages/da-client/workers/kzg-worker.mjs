// KZG commitments and proofs for EIP-4844 blobs, in a worker thread: kzg-wasm takes ~15 s to load its trusted
// setup and ~0.7 s per blob here, all synchronous WebAssembly, which must not stall a validator's event loop.
// Plain JavaScript: worker threads do not inherit a TypeScript loader.
import { parentPort } from "node:worker_threads";
import { loadKZG } from "kzg-wasm";

const kzg = await loadKZG();
parentPort.on("message", ({ id, blobs }) => {
  try {
    const out = blobs.map((blob) => {
      const commitment = kzg.blobToKZGCommitment(blob);
      return { commitment, proof: kzg.computeBlobKZGProof(blob, commitment) };
    });
    parentPort.postMessage({ id, out });
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
parentPort.postMessage({ ready: true });
