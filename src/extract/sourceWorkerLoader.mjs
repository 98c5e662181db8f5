// Only used when stalecheck runs from its TypeScript sources (the test suite): lets a worker
// thread load src/extract/worker.ts. The built package runs dist/extract/worker.js directly.
import { register } from "node:module";

register("./sourceWorkerHooks.mjs", import.meta.url);
