/**
 * Every refusal of the light client is a `LightClientError` with a stable
 * `code`: a caller (the CLI, a wallet, a bridge relayer) branches on the code,
 * never on the message, and nothing else escapes the verifier whatever a node
 * sends it.
 */
import { OrdoError, type OrdoErrorOptions } from "@ordo/core";
import type { ForkEvidence } from "./types.js";

export type LightClientErrorCode =
  /** The trusted checkpoint itself is unusable (bad keys, stakes, epoch, chain id). */
  | "INVALID_CHECKPOINT"
  /** An input is not a well-formed header, certificate or committee change (wrong types, sizes, ranges). */
  | "MALFORMED"
  /** A finality update without headers. */
  | "EMPTY_HEADERS"
  /** A header of another Ordo chain. */
  | "WRONG_CHAIN"
  /** A certificate or committee change of an epoch this client has moved past. */
  | "STALE_EPOCH"
  /** A certificate or committee change of an epoch this client does not know yet (missing committee changes). */
  | "UNKNOWN_EPOCH"
  /** A header that names another validator set than the current committee's. */
  | "WRONG_VALIDATOR_SET"
  /** Headers that do not ascend by one height, each the parent its successor names. */
  | "NOT_A_CHAIN"
  /** The certificate does not commit the last header (`committedHash` differs from its hash). */
  | "NOT_COMMITTED"
  /** A signer bitmap of the wrong length or with bits beyond the committee. */
  | "BAD_BITMAP"
  /** The signers hold 2/3 of the stake or less. */
  | "INSUFFICIENT_STAKE"
  /** The BLS aggregate does not verify for the signers' keys and the digest. */
  | "BAD_SIGNATURE"
  /** A certified header differs from one certified before at the same height: a safety failure, with evidence. */
  | "CONFLICTING_HEADER"
  /** The client saw a fork and refuses further updates (see `LightClientOptions.onFork`). */
  | "HALTED"
  /** A committee change's new set fails validation (size, stakes, duplicate keys, proofs of possession). */
  | "INVALID_COMMITTEE"
  /** The verified block does not carry the epoch-change commitment to this committee. */
  | "EPOCH_CHANGE_NOT_PROVEN"
  /** A namespace query for a height this client has not verified. */
  | "UNVERIFIED_HEIGHT"
  /** A namespace proof that does not prove the given transactions complete and ordered (or the namespace absent). */
  | "NAMESPACE_PROOF_INVALID"
  /** The node could not be reached, or did not answer in time. */
  | "NODE_UNREACHABLE"
  /** The node answered with an HTTP error (its `{error: {code, message}}` is in the message). */
  | "NODE_ERROR"
  /** The node's answer is not the JSON the API documents (or is not the data asked for). */
  | "BAD_RESPONSE";

export interface LightClientErrorOptions extends OrdoErrorOptions {
  /** With `CONFLICTING_HEADER`: every conflict the update revealed. */
  evidence?: ForkEvidence[];
  /** With `NODE_ERROR`: the HTTP status. */
  status?: number;
}

export class LightClientError extends OrdoError {
  // Narrows the base class's `code: string`, so that a switch over codes is checked.
  declare readonly code: LightClientErrorCode;
  /** Set with `CONFLICTING_HEADER`: both certified sides of every conflicting height. */
  readonly evidence: readonly ForkEvidence[];
  /** Set with `NODE_ERROR`. */
  readonly status: number | undefined;

  constructor(code: LightClientErrorCode, message: string, options: LightClientErrorOptions = {}) {
    super(code, message, options);
    this.name = "LightClientError";
    this.evidence = options.evidence ?? [];
    this.status = options.status;
  }
}
