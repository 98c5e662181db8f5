import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:integration`: the live demo and the probes. Kept out of `npm test`
// (test/**/*.test.ts), because it needs PostgreSQL, Django and gunicorn.
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/integration/**/*.itest.ts"],
    // As in vitest.config.ts: scans from the TypeScript sources start workers that load src/run/worker.ts.
    execArgv: ["--import", fileURLToPath(new URL("../helpers/sourceWorkerLoader.mjs", import.meta.url))],
    testTimeout: 300_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
