/**
 * The cache directory itself: where it may be (never the project, never where it would hide
 * sources), what an existing one must be before stalecheck writes into it (a real directory of
 * the current user's, empty or tagged by stalecheck), and its markers (`CACHEDIR.TAG`,
 * `.gitignore`), written only into a directory stalecheck made or tagged.
 */
import { randomUUID } from "node:crypto";
import { closeSync, mkdirSync, readdirSync, realpathSync, renameSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path";
import { createExclusive, describeError, lstatOrNull, ownedByCurrentUser, readRegularFile, unlinkQuietly, writeAll } from "./safeFs.js";

const TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55";
const TAG_TEXT = `${TAG_SIGNATURE}\n# This file is a cache directory tag created by stalecheck.\n`;
const GITIGNORE_TEXT = "# Created by stalecheck: this directory is a cache.\n*\n";
/** Written tag first, so a directory with a `.gitignore` of ours already has its tag. */
const MARKERS: readonly [string, string][] = [["CACHEDIR.TAG", TAG_TEXT], [".gitignore", GITIGNORE_TEXT]];
/** A marker being written by a concurrent scan that is creating the same directory. */
const MARKER_IN_FLIGHT = /^(CACHEDIR\.TAG|\.gitignore)\.[0-9a-f-]{36}\.tmp$/;
const MAX_TAG_BYTES = 1024;
/** Kernel file systems: reading or creating there can block or act on the system. */
const SYSTEM_TREES = ["/proc", "/sys", "/dev"];

/**
 * Why `cacheDir` cannot hold the cache of a scan of `paths` (absolute) whose findings are
 * relative to `scanRoot`, or null. `sourcesInside`: Python files discovery found under it, which
 * a cache there would hide (its `.gitignore` ignores everything). The one place that decides
 * where a cache may live.
 */
export function cachePlacementProblem(cacheDir: string, scanRoot: string, paths: readonly string[], sourcesInside: readonly string[] = []): string | null {
  if (cacheDir === "") return "the cache directory is an empty string (an unset variable?): name a directory, or pass --no-cache";
  for (const scanned of new Set([scanRoot, ...paths])) {
    if (sameOrWithin(scanned, cacheDir)) {
      const relation = cacheDir === scanned || realish(cacheDir) === realish(scanned) ? "is" : "contains";
      return `the cache directory ${cacheDir} ${relation} the scanned path ${scanned}: its .gitignore would hide the project; choose a directory of its own`;
    }
  }
  if (sourcesInside.length > 0) {
    return `the cache directory ${cacheDir} holds Python sources that would not be scanned (${sourcesInside[0]}${sourcesInside.length > 1 ? `, and ${sourcesInside.length - 1} more` : ""}); choose a directory of its own`;
  }
  return null;
}

/**
 * Why the existing `root` cannot be used as a cache directory, or null when it can: missing (it
 * will be made), an empty directory, or a directory stalecheck tagged. Never a symbolic link, a
 * directory of another user, or a non-empty directory without stalecheck's tag.
 */
export function cacheRootProblem(root: string): string | null {
  const system = SYSTEM_TREES.find((tree) => sameOrWithin(root, tree));
  if (system) return `the cache directory ${root} is under ${system}, not a place for a cache`;
  let stat;
  try {
    stat = lstatOrNull(root);
  } catch {
    return null; // ENOTDIR, EACCES: it cannot be made either, which the scan reports as a write error.
  }
  if (stat === null) return null;
  if (stat.isSymbolicLink()) return `the cache directory ${root} is a symbolic link; name the directory it points to, if that is meant`;
  if (!stat.isDirectory()) return `the cache directory ${root} exists and is not a directory`;
  if (!ownedByCurrentUser(stat)) return `the cache directory ${root} is not owned by the current user`;
  let names: string[];
  try {
    names = readdirSync(root);
    for (const [name] of MARKERS) {
      const marker = lstatOrNull(join(root, name));
      if (marker && !marker.isFile()) return `${join(root, name)} is not a regular file; the cache directory ${root} is not stalecheck's`;
    }
  } catch (error) {
    // What is in it cannot be told, so nothing is written into it.
    return `cannot read the cache directory ${root}: ${describeError(error)}`;
  }
  if (names.every((name) => MARKER_IN_FLIGHT.test(name)) || hasStalecheckTag(root)) return null;
  return `${root} exists and is not a stalecheck cache directory (it has no CACHEDIR.TAG written by stalecheck); choose another directory, or remove it`;
}

/**
 * Makes the cache directory (and its parents) if it is missing, and writes its markers if they
 * are missing: call only once `cacheRootProblem` found nothing wrong. Throws when it cannot.
 */
export function prepareCacheRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  // mkdir accepts a link to a directory: checked again, as it may be new since.
  const stat = lstatOrNull(root);
  if (!stat?.isDirectory() || !ownedByCurrentUser(stat)) throw new Error(`${root} is not a directory of the current user's`);
  for (const [name, text] of MARKERS) {
    const path = join(root, name);
    const existing = lstatOrNull(path);
    if (existing) {
      if (!existing.isFile()) throw new Error(`${path} is not a regular file`);
      continue;
    }
    // Whole or not at all: a concurrent scan must never see half a tag.
    const temporary = join(root, `${name}.${randomUUID()}.tmp`);
    try {
      const fd = createExclusive(temporary, 0o644);
      try {
        writeAll(fd, Buffer.from(text), temporary);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, path);
    } finally {
      unlinkQuietly(temporary);
    }
  }
}

/** Does `root` hold the CACHEDIR.TAG stalecheck writes (a regular file, not a link or a FIFO)? */
function hasStalecheckTag(root: string): boolean {
  try {
    const text = readRegularFile(join(root, "CACHEDIR.TAG"), MAX_TAG_BYTES).bytes.toString("utf8");
    return text.startsWith(TAG_SIGNATURE) && text.includes("created by stalecheck");
  } catch {
    return false;
  }
}

/** Is `path` `dir` or inside it, as written or once links in the existing part are resolved? */
export function sameOrWithin(path: string, dir: string): boolean {
  return lexicallyWithin(path, dir) || lexicallyWithin(realish(path), realish(dir));
}

function lexicallyWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** `path` with its longest existing ancestor resolved through links (the rest may not exist yet). */
function realish(path: string): string {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(realpathSync(current), ...rest.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      rest.push(basename(current));
      current = parent;
    }
  }
}
