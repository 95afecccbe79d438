/**
 * The browser bundle's entry: the light client's public API plus the pure-JS
 * BLS backend it verifies with (the native one is stubbed out of the bundle).
 */

export { nobleBackend } from "@ordo/core";
export * from "../src/index.ts";
