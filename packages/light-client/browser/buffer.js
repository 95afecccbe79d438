/**
 * Injected by esbuild wherever `@ordo/core` names the global `Buffer` (hex and
 * base64 codecs, `Buffer.alloc` + `writeUInt32BE`): the `buffer` package is
 * Node's API in plain JS.
 */
export { Buffer } from "buffer";
