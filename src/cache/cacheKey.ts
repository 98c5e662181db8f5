/**
 * The per-user secret the caches seal their entries with (HMAC-SHA256). The cache directory may
 * sit in, or be restored into, a tree a stranger wrote; a seal only this user's key can make is
 * what tells stalecheck's own entries from planted ones, which are then simply misses. The key
 * lives outside any scanned tree: `$XDG_CACHE_HOME/stalecheck/cache-key` (or
 * `~/.cache/stalecheck/cache-key`, or `$STALECHECK_KEY_DIR/cache-key`), made on first use.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { closeSync, linkSync, mkdirSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { sameOrWithin } from "./cacheRoot.js";
import { createExclusive, describeError, ownedByCurrentUser, readRegularFile, unlinkQuietly, writeAll } from "./safeFs.js";

export const KEY_FILE = "cache-key";
const KEY_BYTES = 32;
const MAX_KEY_FILE_BYTES = 1024;

/**
 * The directory that holds the key, from an environment: `STALECHECK_KEY_DIR` (relative to
 * `cwd`), else `$XDG_CACHE_HOME/stalecheck`, else `$HOME/.cache/stalecheck`; null when the
 * environment names no such place.
 */
export function cacheKeyDirectory(env: Readonly<Record<string, string | undefined>>, cwd: string): string | null {
  if (env.STALECHECK_KEY_DIR) return resolve(cwd, env.STALECHECK_KEY_DIR);
  // The XDG spec: a relative value is invalid and ignored.
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, "stalecheck");
  const home = env.HOME ?? env.USERPROFILE;
  return home && isAbsolute(home) ? join(home, ".cache", "stalecheck") : null;
}

/**
 * The key in `dir`, made there if there is none; or why there is no key to use, so the scan
 * runs without a cache: no directory, a key inside a scanned path (the scanned repository could
 * supply it), a key file that is not a regular file of the current user's, or is malformed.
 */
export function loadCacheKey(dir: string | null, scanned: readonly string[]): { key: Buffer } | { problem: string } {
  if (dir === null) return { problem: "there is no directory for the cache key: set HOME, XDG_CACHE_HOME or STALECHECK_KEY_DIR" };
  const file = join(dir, KEY_FILE);
  const inside = scanned.find((path) => sameOrWithin(file, path));
  if (inside !== undefined) {
    return { problem: `the cache key ${file} is inside the scanned path ${inside}, where the scanned code could supply it; set STALECHECK_KEY_DIR (or XDG_CACHE_HOME) to a directory outside it` };
  }
  try {
    try {
      return { key: readKey(file) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    createKey(file);
    return { key: readKey(file) };
  } catch (error) {
    return { problem: `cannot use the cache key ${file}: ${describeError(error)}` };
  }
}

function readKey(file: string): Buffer {
  const { bytes, stat } = readRegularFile(file, MAX_KEY_FILE_BYTES);
  if (!ownedByCurrentUser(stat)) throw new Error("it is not owned by the current user");
  const text = bytes.toString("latin1").trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new Error("it is not a stalecheck cache key (64 hex digits); remove it to have a new one made");
  return Buffer.from(text, "hex");
}

/**
 * Writes a new random key: into a temporary file created exclusively (mode 0600, never through a
 * link), then linked to its name, which fails rather than replace a key another scan made first.
 */
function createKey(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    const fd = createExclusive(temporary, 0o600);
    try {
      writeAll(fd, Buffer.from(`${randomBytes(KEY_BYTES).toString("hex")}\n`), temporary);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, file);
    } catch (error) {
      // EEXIST: a concurrent scan made the key first, and that one is used.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  } finally {
    unlinkQuietly(temporary);
  }
}
