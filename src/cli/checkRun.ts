/** `stalecheck check`: command-line flags over the configuration file over the defaults, and the report. */
import { dirname, resolve } from "node:path";
import { loadConfig } from "../config/config.js";
import { discoverRoot } from "../discover/discover.js";
import { projectRoot, startDirectory } from "../discover/projectRoot.js";
import { readBaseline } from "../report/baseline.js";
import { formatGithub } from "../report/github.js";
import { formatJson } from "../report/json.js";
import { formatSarif } from "../report/sarif.js";
import { formatText } from "../report/text.js";
import type { Severity } from "../core/severity.js";
import type { ScanOptions } from "../run/scan.js";
import type { ScanResult } from "../core/result.js";
import type { CheckArgs, Format } from "./args.js";

export interface CheckPlan {
  scan: ScanOptions;
  failOn: Severity;
  /** The configuration file read, if any. */
  configFile: string | null;
  /** The project root (absolute): the nearer of the configuration's directory and `.git`, else the scan root. */
  projectRoot: string;
}

/** Reads the configuration (and the baseline) and merges it under the flags. */
export function planCheck(args: CheckArgs, cwd: string): CheckPlan {
  const { file, dir, config } = loadConfig({ cwd, paths: args.paths, configFile: args.config });
  // A file given with --config may be shared by many projects: only one found by looking up marks the project.
  const root = projectRoot(startDirectory(cwd, args.paths), args.config === null && file !== null ? dirname(file) : null, discoverRoot(cwd, args.paths));
  // A baseline being written records every finding: no baseline applies then.
  const baselineFile = args.writeBaseline !== null ? null : args.baseline !== null ? resolve(cwd, args.baseline) : config.baseline ?? null;
  const scan: ScanOptions = {
    paths: args.paths,
    cwd,
    projectRoot: root,
    select: args.select ?? config.select,
    ignore: args.ignore ?? config.ignore,
    exclude: args.exclude,
    // --exclude replaces the configuration's list rather than adding to it.
    ...(args.exclude.length === 0 && config.exclude ? { configExclude: config.exclude } : {}),
    ...(dir !== null ? { configDir: dir } : {}),
    ...(config.perFileIgnores ? { perFileIgnores: config.perFileIgnores } : {}),
    includeNonRequest: args.includeNonRequest || (config.includeNonRequest ?? false),
    ...(args.maxFileBytes !== undefined || config.maxFileBytes !== undefined ? { maxFileBytes: args.maxFileBytes ?? config.maxFileBytes } : {}),
    transactionNames: config.transactionNames ?? [],
    checkHelpers: config.checkHelpers ?? [],
    sensitiveModels: config.sensitiveModels ?? [],
    basicAuthClasses: config.basicAuthClasses ?? [],
    basicAuthMiddleware: config.basicAuthMiddleware ?? [],
    ...(args.changedSince !== null ? { changedSince: args.changedSince } : {}),
    ...(baselineFile !== null ? { baseline: readBaseline(baselineFile) } : {}),
  };
  return { scan, failOn: args.failOn ?? config.failOn ?? "low", configFile: file, projectRoot: root };
}

/**
 * Why a scan proves nothing, or null: it analysed no file, and not because there was none:
 * every file it found, or every `*.py` it met, was unreadable, over a budget or fatal to its
 * worker. Files with syntax errors are analysed around them; an empty tree is not a failure.
 */
export function unanalysedProblem(result: ScanResult): string | null {
  if (result.analysedFiles === undefined || result.analysedFiles > 0) return null;
  const skipped = result.errors.filter((e) => e.line === undefined);
  if (skipped.length === 0) return null;
  const count = new Set(skipped.map((e) => e.file)).size;
  const first = skipped[0]!;
  return `no file could be analysed: ${count === 1 ? "the only one was" : `all ${count} were`} skipped (${first.file}: ${first.message}${count > 1 ? "; …" : ""})`;
}

/** The report in the chosen format. SARIF and GitHub paths are relative to `cwd`, the repository root in CI. */
export function renderReport(format: Format, result: ScanResult, options: { color: boolean; cwd: string }): string {
  switch (format) {
    case "json":
      return formatJson(result);
    case "sarif":
      return formatSarif(result, { baseDir: options.cwd });
    case "github":
      return formatGithub(result, { baseDir: options.cwd });
    case "text":
      return formatText(result, { color: options.color, baseDir: options.cwd });
  }
}
