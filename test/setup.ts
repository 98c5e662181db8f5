/**
 * Runs before each test file: the cache key (see src/cache/cacheKey.ts) goes to a directory of
 * the file's own, never the user's ~/.cache. Scans in-process and the CLI run as a child process
 * both find it through STALECHECK_KEY_DIR.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const keyDir = mkdtempSync(join(tmpdir(), "stalecheck-key-"));
process.env.STALECHECK_KEY_DIR = keyDir;
afterAll(() => rmSync(keyDir, { recursive: true, force: true }));
