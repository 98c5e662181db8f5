import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Keeps the cache key out of the user's ~/.cache.
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
  },
});
