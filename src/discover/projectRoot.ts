/**
 * Where a scan's project is: the nearest directory, from where the scan starts upwards, that
 * holds its configuration file or a `.git` (like Ruff's project root). Fingerprints and
 * baselines name files relative to it, whatever subdirectory is scanned, and the default cache
 * lives there.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isWithin } from "./paths.js";

/**
 * Where configuration and project lookups start: the one directory scanned, or the directory
 * of the one file scanned, else the working directory.
 */
export function startDirectory(cwd: string, paths: readonly string[]): string {
  if (paths.length !== 1) return resolve(cwd);
  const target = resolve(cwd, paths[0]!);
  try {
    return statSync(target).isDirectory() ? target : dirname(target);
  } catch {
    return dirname(target);
  }
}

/** The nearest directory at or above `dir` that holds a `.git` (a directory, or a worktree's file), or null. */
export function gitRootAbove(dir: string): string | null {
  for (let current = resolve(dir); ; current = dirname(current)) {
    if (existsSync(join(current, ".git"))) return current;
    if (dirname(current) === current) return null;
  }
}

/**
 * The project root of a scan starting at `start`: the nearer (deeper) of the directory of the
 * configuration file found from there (`configDir`, null when none was found by looking up)
 * and the nearest `.git` above it; `fallback` (the scan root) when there is neither.
 */
export function projectRoot(start: string, configDir: string | null, fallback: string): string {
  const git = gitRootAbove(start);
  const candidates = [configDir, git].filter((d): d is string => d !== null && isWithin(d, start));
  if (candidates.length === 0) return fallback;
  return candidates.reduce((a, b) => (isWithin(a, b) ? b : a));
}
