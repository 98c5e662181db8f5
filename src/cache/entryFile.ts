/**
 * Cache entry helpers: checksums and keyed seals, the result cache's entries (a JSON header line
 * whose `body` field seals the body that follows), pruning by last use, and hashing the compiled
 * code a cache depends on.
 */
import { type Hash, createHash, createHmac, timingSafeEqual } from "node:crypto";
import { lstatSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUILD_ROOT } from "../buildRoot.js";
import { removeIf } from "./safeFs.js";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * HMAC-SHA256 of `parts` under the user's cache key: the seal every trust decision on cache
 * content rests on. Each part is length-prefixed, so no two lists of parts give the same input.
 */
export function keyedDigest(key: Buffer, ...parts: string[]): string {
  const hmac = createHmac("sha256", key);
  for (const part of parts) hmac.update(`${Buffer.byteLength(part)}:`).update(part);
  return hmac.digest("hex");
}

/** Compares a seal read from disk with the expected one in constant time. */
export function sealMatches(found: unknown, expected: string): boolean {
  if (typeof found !== "string" || found.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(found), Buffer.from(expected));
}

/** The header line, with the body's seal (under `key`, bound to `header.key`) as its last field, then the body. */
export function sealEntry(key: Buffer, header: { key: string }, body: string): string {
  return `${JSON.stringify({ ...header, body: keyedDigest(key, "result-entry", header.key, body) })}\n${body}`;
}

/** The parsed header line and the body, or null when there is no header line to parse. */
export function splitEntry(raw: string): { header: Record<string, unknown>; body: string } | null {
  const newline = raw.indexOf("\n");
  if (newline < 0) return null;
  try {
    const header: unknown = JSON.parse(raw.slice(0, newline));
    return typeof header === "object" && header !== null ? { header: header as Record<string, unknown>, body: raw.slice(newline + 1) } : null;
  } catch {
    return null;
  }
}

/** Was the body sealed, for the entry `entryKey`, with this user's key (and is it unchanged since)? */
export function bodyIntact(key: Buffer, entryKey: string, header: Record<string, unknown>, body: string): boolean {
  return sealMatches(header.body, keyedDigest(key, "result-entry", entryKey, body));
}

/**
 * Removes all but the `keep` most recently used of `names` in `dir`: only those lstat shows as
 * `kind` (a link, a FIFO, is neither kept in the count nor removed).
 */
export function keepNewest(dir: string, names: readonly string[], keep: number, kind: "file" | "directory"): void {
  const used = names
    .flatMap((name) => {
      try {
        const stat = lstatSync(join(dir, name));
        return (kind === "file" ? stat.isFile() : stat.isDirectory()) ? [{ name, at: stat.mtimeMs }] : [];
      } catch {
        return []; // Removed meanwhile by a concurrent scan.
      }
    })
    .sort((a, b) => b.at - a.at || (a.name < b.name ? -1 : 1));
  for (const stale of used.slice(keep)) removeIf(join(dir, stale.name), kind);
}

/** Feeds `hash` every file of the given folders of the build (`extract`, `rules`…), by name. */
export function hashBuildFolders(hash: Hash, folders: readonly string[]): void {
  for (const folder of folders) {
    const dir = fileURLToPath(new URL(`${folder}/`, BUILD_ROOT));
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      const stat = statSync(file);
      // Subfolders too: the function walker lives in `extract/function/`.
      if (stat.isDirectory()) hashBuildFolders(hash, [`${folder}/${name}`]);
      else if (stat.isFile()) hash.update(`${folder}/${name}\n`).update(readFileSync(file));
    }
  }
}
