/**
 * Errors carry a stable `code` (for APIs and logs), a short message, and
 * optionally details and a fix, in the style of viem's errors.
 */
export interface OrdoErrorOptions {
  details?: string;
  fix?: string;
  cause?: unknown;
}

export class OrdoError extends Error {
  readonly code: string;
  readonly details: string | undefined;
  readonly fix: string | undefined;

  constructor(code: string, message: string, options: OrdoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OrdoError";
    this.code = code;
    this.details = options.details;
    this.fix = options.fix;
  }
}

/** The only error a decoder throws: the input was not a valid encoding of the expected message. */
export class DecodeError extends OrdoError {
  constructor(message: string, options: OrdoErrorOptions = {}) {
    super("DECODE_ERROR", message, options);
    this.name = "DecodeError";
  }
}

export class InvalidConfigError extends OrdoError {
  constructor(message: string, options: OrdoErrorOptions = {}) {
    super("INVALID_CONFIG", message, options);
    this.name = "InvalidConfigError";
  }
}
