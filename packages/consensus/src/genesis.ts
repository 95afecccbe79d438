import { type Block, type BlockHeader, sha256, type ValidatorSet, ZERO_HASH } from "@ordo/core";
import { genesisQc } from "./certificates.js";

export interface GenesisConfig {
  chainId: number;
  validators: ValidatorSet;
  timestampMs: number;
}

/** Height 0, round 0, empty payload; committed by definition and certified by the signature-less genesis QC. */
export function createGenesisBlock(config: GenesisConfig): Block {
  const payload = new Uint8Array(0);
  const header: BlockHeader = {
    chainId: config.chainId,
    epoch: config.validators.epoch,
    round: 0,
    height: 0,
    parentHash: ZERO_HASH,
    namespaceRoot: ZERO_HASH,
    payloadHash: sha256(payload),
    validatorSetHash: config.validators.hash,
    proposer: 0,
    timestampMs: config.timestampMs,
  };
  return { header, justify: genesisQc(ZERO_HASH), payload };
}
