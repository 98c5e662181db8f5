/**
 * The one rule for paths in reports: a file is shown relative to the working directory (the
 * directory stalecheck was run from, the repository root in CI), with forward slashes, so
 * that a terminal, an editor or a CI system opens it from there; a file outside the working
 * directory is shown absolute. Every format follows it; the JSON report also keeps each
 * finding's `file` relative to its `root`, which follows the rule itself.
 */
import { join, relative, sep } from "node:path";
import type { FingerprintPath } from "../core/fingerprint.js";
import type { ScanResult } from "../core/result.js";
import { shownPath } from "../discover/paths.js";

export { shownPath };

/** Shows a scan-root-relative `file` of `result` from `baseDir` (default: the scan's working directory). */
export function pathShower(result: Pick<ScanResult, "root" | "cwd">, baseDir?: string): (file: string) => string {
  // A result built by hand (not by scan()) may lack `cwd`: its paths are then shown from the scan root.
  const base = baseDir ?? result.cwd ?? result.root;
  return (file) => shownPath(base, join(result.root, file));
}

/** Maps a scan-root-relative `file` to its path from the project root, as fingerprints and baselines use it. */
export function projectPaths(result: Pick<ScanResult, "root" | "projectRoot">): FingerprintPath {
  const project = result.projectRoot ?? result.root;
  return (file) => relative(project, join(result.root, file)).split(sep).join("/");
}
