import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["packages/core/src/polyfill.ts"],
    testTimeout: 60_000,
    pool: "forks",
    // Both cores: the chaos run (mostly waiting on its processes) beside the rest, not after it.
    maxWorkers: 2,
  },
});
