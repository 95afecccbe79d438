/** Types of `build-browser.mjs`, for the TypeScript test that calls it. */
export declare const BUNDLE_NAME: string;
export declare const DEFAULT_OUTDIR: string;

export interface BrowserBundle {
  /** Absolute path of the bundle. */
  file: string;
  bytes: number;
  gzipBytes: number;
  /** Bytes each input contributes to the bundle, largest first. */
  inputs: { input: string; bytes: number }[];
}

export declare function buildBrowserBundle(options?: { outdir?: string }): Promise<BrowserBundle>;
