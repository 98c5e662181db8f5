// Only for the test suite, which runs stalecheck from its TypeScript sources: vitest.config.ts
// gives the test processes this loader, and the extraction workers they start inherit it, so a
// worker thread can load src/run/worker.ts. The built package runs dist/run/worker.js.
import { register } from "node:module";

register("./sourceWorkerHooks.mjs", import.meta.url);
