/**
 * Cache file helpers: the result cache's entries, written as a JSON header line whose `body`
 * field is the checksum of the body that follows, to a temporary file and then renamed so a
 * concurrent reader never sees half an entry; and, for both caches, checksums, pruning by last
 * use, and hashing the compiled code a cache depends on.
 */
import { type Hash, createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUILD_ROOT } from "../buildRoot.js";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The header line, with the body's checksum as its last field, then the body. */
export function sealEntry(header: object, body: string): string {
  return `${JSON.stringify({ ...header, body: sha256(body) })}\n${body}`;
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

/** Does the body still match the checksum its header gives? */
export function bodyIntact(header: Record<string, unknown>, body: string): boolean {
  return typeof header.body === "string" && header.body === sha256(body);
}

/** Writes through a temporary file and a rename; returns why it could not, or null. Never throws. */
export function writeAtomically(target: string, text: string): string | null {
  const temporary = `${target}.${randomUUID()}.tmp`;
  try {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(temporary, text);
    renameSync(temporary, target);
    return null;
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing was written.
    }
    return describeError(error);
  }
}

/** `ENOTDIR: /path` for file-system errors, the message otherwise. */
export function describeError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.path ?? ""}`.trim() : String(error);
}

/** Removes all but the `keep` most recently used of `names` in `dir` (files or directories). */
export function keepNewest(dir: string, names: readonly string[], keep: number): void {
  const used = names
    .flatMap((name) => {
      try {
        return [{ name, at: statSync(join(dir, name)).mtimeMs }];
      } catch {
        return []; // Removed meanwhile by a concurrent scan.
      }
    })
    .sort((a, b) => b.at - a.at || (a.name < b.name ? -1 : 1));
  for (const stale of used.slice(keep)) rmSync(join(dir, stale.name), { recursive: true, force: true });
}

/** Feeds `hash` every file of the given folders of the build (`extract`, `rules`…), by name. */
export function hashBuildFolders(hash: Hash, folders: readonly string[]): void {
  for (const folder of folders) {
    const dir = fileURLToPath(new URL(`${folder}/`, BUILD_ROOT));
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (statSync(file).isFile()) hash.update(`${folder}/${name}\n`).update(readFileSync(file));
    }
  }
}
