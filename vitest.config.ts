import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Lets the extraction workers started from the TypeScript sources load src/run/worker.ts.
    execArgv: ["--import", fileURLToPath(new URL("./test/helpers/sourceWorkerLoader.mjs", import.meta.url))],
    // Keeps the cache key out of the user's ~/.cache.
    setupFiles: ["test/setup.ts"],
    // Hang guards only (no test asserts on time): generous, so that a loaded machine never trips them.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
