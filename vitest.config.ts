import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Keeps the cache key out of the user's ~/.cache.
    setupFiles: ["test/setup.ts"],
    // Hang guards only (no test asserts on time): generous, so that a loaded machine never trips them.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
