/** What a scan returns: the output contract of DESIGN.md §4 and what the CLI reports besides it. */
import type { Endpoint } from "./endpoint.js";
import type { FileError } from "./errors.js";
import type { Finding } from "./finding.js";

/** A file that could not be scanned, or a problem in part of it. */
export type ScanError = FileError;

export interface ScanResult {
  version: 1;
  tool: { name: string; version: string };
  summary: { files: number; functions: number; findings: number; errors: number; durationMs: number };
  findings: Finding[];
  errors: ScanError[];
  /** Absolute directory that finding paths are relative to (the JSON output shows it as `root`, relative to `cwd`). */
  root: string;
  /** Absolute working directory of the scan: reports show paths relative to it. Not part of the JSON output. */
  cwd: string;
  /**
   * Absolute project root (the nearest directory holding the configuration or `.git`, else the
   * scan root): fingerprints and baselines name files relative to it. Not part of the JSON output.
   */
  projectRoot: string;
  /** Routes of the scanned project with their authentication (for `stalecheck endpoints`). Not in the JSON output. */
  endpoints: Endpoint[];
  /** Settings modules read (relative paths). Not in the JSON output. */
  settingsFiles: string[];
  /** How many files were parsed and how many came from the cache. Not part of the JSON output. */
  extraction?: ScanStats;
  /** Files that import Django or Django REST Framework (unknown when the analysis came from an older cache). Not part of the JSON output. */
  djangoFiles?: number;
  /** Findings the baseline covered (not in `findings`). Not part of the JSON output. */
  baselined?: number;
  /**
   * Files whose facts the analysis used: `summary.files` less those unreadable, over a size or
   * time budget, or fatal to their worker (each in `errors`). A file with syntax errors is
   * analysed, around them. Not part of the JSON output.
   */
  analysedFiles?: number;
}

export interface ScanStats extends ExtractionStats {
  /** The whole analysis came from the result cache: nothing was parsed or analysed. */
  analysisCached: boolean;
  /** Why a cache directory was given but no cache was used at all (no key, a default location that may not be used). */
  cacheUnavailable: string | null;
}

export interface ExtractionStats {
  /** Files parsed and walked in this scan. */
  parsed: number;
  /** Files whose facts came from the cache. */
  cached: number;
  /** Cache entries found but not trusted. */
  cacheRejected: number;
  /** Why the cache could not be written, when it could not. */
  cacheWriteError: string | null;
}
