/**
 * Node 20 lacks `Promise.withResolvers` (ES2024), which libp2p 3 calls. Every
 * entry point imports `@ordo/core` (or this file) first, and the test setup loads
 * it, so the project runs on Node 20.19+ as `engines` says.
 */
interface PromiseWithResolversShape<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const P = Promise as unknown as { withResolvers?: <T>() => PromiseWithResolversShape<T> };
if (typeof P.withResolvers !== "function") {
  P.withResolvers = <T>(): PromiseWithResolversShape<T> => {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export const POLYFILLS_LOADED = true;
