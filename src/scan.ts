/** The whole pipeline: discover → parse → extract → index → analyse. Touches no process state. */
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { configGlobMatcher } from "./config/fileFilters.js";
import { changedFiles } from "./discover/changedFiles.js";
import { discover, discoverRoot } from "./discover/discover.js";
import { extractorFingerprint } from "./cache/factsCache.js";
import { ResultCache } from "./cache/resultCache.js";
import { type ExtractionStats, extractFiles } from "./extract/extractFiles.js";
import type { BudgetTimer } from "./extract/pool.js";
import { buildProject, type Project } from "./project/buildProject.js";
import type { Endpoint } from "./project/routes.js";
import { type Finding, analyse } from "./rules/analyse.js";
import { selectRules } from "./rules/registry.js";
import { type Baseline, applyBaseline } from "./report/baseline.js";
import { SEVERITIES, type Severity } from "./rules/types.js";
import { TOOL_NAME, TOOL_VERSION } from "./version.js";

export interface ScanOptions {
  /** Files and directories to scan; default the working directory. */
  paths?: readonly string[];
  cwd?: string;
  select?: readonly string[];
  ignore?: readonly string[];
  exclude?: readonly string[];
  /** Report in tests, migrations and management commands too. */
  includeNonRequest?: boolean;
  /** Extra dotted names that open a transaction, like `transaction.atomic`. */
  transactionNames?: readonly string[];
  /** Files larger than this are skipped and reported. */
  maxFileBytes?: number;
  /** Called after each file is extracted (for progress bars). */
  onFile?: (done: number, total: number) => void;
  /** Worker threads that parse files; default the number of cores. Output does not depend on it. */
  jobs?: number;
  /** Per-file extraction time budget in milliseconds (default 20 s); a file over it is skipped and reported. */
  fileTimeoutMs?: number;
  /** Directory of the facts cache; absent or null: no cache. The CLI defaults it to `.stalecheck-cache`. */
  cacheDir?: string | null;
  /** Directory the configuration's globs (`configExclude`, `perFileIgnores`) are relative to; default the scan root. */
  configDir?: string;
  /** Config-file `exclude` globs: gitignore-like, applied to files named explicitly too (pre-commit passes them). */
  configExclude?: readonly string[];
  /** Glob → rule selectors not reported in matching files (config-file `per-file-ignores`). */
  perFileIgnores?: Readonly<Record<string, readonly string[]>>;
  /** Names of functions that are authorization checks (config `check-helpers`). */
  checkHelpers?: readonly string[];
  /** Models whose rows authorization decisions depend on (config `sensitive-models`), beyond the built-in name pattern. */
  sensitiveModels?: readonly string[];
  /** Authentication classes that accept HTTP Basic credentials (config `basic-auth-classes`). */
  basicAuthClasses?: readonly string[];
  /** Middleware that decodes `Authorization: Basic …` (config `basic-auth-middleware`). */
  basicAuthMiddleware?: readonly string[];
  /** Report only findings whose check or use lies in a file changed since this git revision. */
  changedSince?: string;
  /** Accepted findings, not reported (see report/baseline.ts). */
  baseline?: Baseline;
  /**
   * Internal, for tests only: times each file's extraction budget instead of the wall clock, so
   * a test decides which file runs out of time (see `BudgetTimer` in extract/pool.ts).
   */
  testBudgetTimer?: BudgetTimer;
}

export interface ScanError {
  file: string;
  line?: number;
  message: string;
}

export interface ScanResult {
  version: 1;
  tool: { name: string; version: string };
  summary: { files: number; functions: number; findings: number; errors: number; durationMs: number };
  findings: Finding[];
  errors: ScanError[];
  /** Absolute directory that finding paths are relative to. Not part of the JSON output. */
  root: string;
  /** Routes of the scanned project with their authentication (for `stalecheck endpoints`). Not in the JSON output. */
  endpoints: Endpoint[];
  /** Settings modules read (relative paths). Not in the JSON output. */
  settingsFiles: string[];
  /** How many files were parsed and how many came from the cache. Not part of the JSON output. */
  extraction?: ScanStats;
  /** Findings the baseline covered (not in `findings`). Not part of the JSON output. */
  baselined?: number;
}

export interface ScanStats extends ExtractionStats {
  /** The whole analysis came from the result cache: nothing was parsed or analysed. */
  analysisCached: boolean;
}

export class UsageError extends Error {}

export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;

export async function scan(options: ScanOptions = {}): Promise<ScanResult> {
  const started = performance.now();
  // Wall-clock time, for the result cache: files changed after this are not trusted by their stat.
  const startedAt = Date.now();
  const { rules, unknown } = selectRules(options.select, options.ignore);
  if (unknown.length > 0) throw new UsageError(`unknown rule selector: ${unknown.join(", ")} (see \`stalecheck rules\`)`);
  // A path that does not exist is a typo in a command line or CI script: fail loudly, exit 2.
  const cwd = options.cwd ?? process.cwd();
  const paths = options.paths ?? [];
  for (const path of paths) {
    if (!existsSync(resolve(cwd, path))) throw new UsageError(`no such file or directory: ${path}`);
  }
  // Applied while walking, so an excluded directory is not entered and its problems are not reported.
  const configExclude = options.configExclude ?? [];
  const skip = configExclude.length > 0 ? configGlobMatcher(options.configDir ?? discoverRoot(cwd, paths), configExclude) : undefined;
  const found = discover({ cwd, paths, exclude: options.exclude ?? [], ...(skip ? { skip } : {}) });
  // Asked before the scan so that a bad revision fails at once.
  const changed = options.changedSince !== undefined ? changedFiles(found.root, options.changedSince) : null;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const extract = { transactionNames: options.transactionNames ?? [] };
  // Classes are written in views by their last name (`authentication_classes = [LegacyBasic]`).
  const basicAuthClasses = (options.basicAuthClasses ?? []).flatMap((name) => [name, name.split(".").pop()!]);
  const basicAuthNames = [...new Set([...basicAuthClasses, ...(options.basicAuthMiddleware ?? [])])];
  const projectOptions = { rootName: basename(found.root), basicAuthNames, authzModels: options.sensitiveModels ?? [] };
  const analyseOptions = { rules, includeNonRequest: options.includeNonRequest ?? false, checkHelpers: options.checkHelpers ?? [] };
  // Both caches key on the extractor's fingerprint, which reads the grammar: computed once.
  const factsCache = options.cacheDir ? { dir: options.cacheDir, fingerprint: extractorFingerprint(extract) } : null;
  const results = factsCache
    ? new ResultCache(factsCache.dir, {
      root: found.root, maxFileBytes, extractor: factsCache.fingerprint, project: projectOptions,
      analyse: { ...analyseOptions, rules: rules.map((r) => r.meta.code) },
    })
    : null;
  let analysis = results?.lookup(found.files, maxFileBytes) ?? null;
  let extraction: ScanStats;
  if (analysis) {
    extraction = { parsed: 0, cached: found.files.length, cacheRejected: 0, cacheWriteError: null, analysisCached: true };
  } else {
    const extracted = await extractFiles(found.files, {
      ...(options.jobs !== undefined ? { jobs: options.jobs } : {}),
      ...(options.fileTimeoutMs !== undefined ? { fileTimeoutMs: options.fileTimeoutMs } : {}),
      cache: factsCache,
      maxFileBytes,
      extract,
      ...(options.onFile ? { onFile: options.onFile } : {}),
      ...(options.testBudgetTimer ? { startBudget: options.testBudgetTimer } : {}),
    });
    const project: Project = buildProject(extracted.facts, projectOptions);
    analysis = {
      findings: analyse(project, analyseOptions),
      fileErrors: extracted.errors,
      endpoints: project.endpoints,
      settingsFiles: project.settings.files,
      functions: extracted.facts.reduce((n, f) => n + f.functions.length, 0),
    };
    extraction = { ...extracted.stats, analysisCached: false };
    if (results && !extracted.transient && extracted.stats.cacheWriteError === null) {
      extraction.cacheWriteError = results.store(found.files, startedAt, extracted.contentKeys, extracted.identities, analysis);
    }
  }
  const errors: ScanError[] = [...found.errors, ...analysis.fileErrors];
  const { findings, baselined } = narrowFindings(analysis.findings, found.root, changed, options);
  errors.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0)));
  return {
    version: 1,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    summary: {
      files: found.files.length,
      functions: analysis.functions,
      findings: findings.length,
      errors: errors.length,
      durationMs: Math.round(performance.now() - started),
    },
    findings,
    errors,
    root: found.root,
    endpoints: analysis.endpoints,
    settingsFiles: analysis.settingsFiles,
    extraction,
    ...(options.baseline ? { baselined } : {}),
  };
}

/** Per-file ignores, then --changed-since, then the baseline. */
function narrowFindings(findings: Finding[], root: string, changed: ReadonlySet<string> | null, options: ScanOptions): { findings: Finding[]; baselined: number } {
  let out = findings;
  const perFile = Object.entries(options.perFileIgnores ?? {});
  if (perFile.length > 0) {
    const ignored = perFile.map(([glob, selectors]) => {
      const { rules, unknown } = selectRules(selectors, undefined);
      if (unknown.length > 0) throw new UsageError(`per-file-ignores "${glob}": unknown rule selector: ${unknown.join(", ")}`);
      return { matches: configGlobMatcher(options.configDir ?? root, [glob]), codes: new Set(rules.map((r) => r.meta.code)) };
    });
    out = out.filter((f) => !ignored.some((i) => i.codes.has(f.rule) && i.matches(join(root, f.file))));
  }
  if (changed) {
    out = out.filter((f) => changed.has(f.file) || (f.check?.file !== undefined && changed.has(f.check.file)));
  }
  if (!options.baseline) return { findings: out, baselined: 0 };
  const { findings: uncovered, covered } = applyBaseline(out, options.baseline);
  return { findings: uncovered, baselined: covered };
}

/** Findings at or above a severity threshold. */
export function atOrAbove(findings: readonly Finding[], threshold: Severity): Finding[] {
  const min = SEVERITIES.indexOf(threshold);
  return findings.filter((f) => SEVERITIES.indexOf(f.severity) >= min);
}
