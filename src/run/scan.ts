/** The whole pipeline: discover → parse → extract → index → analyse. Touches no process state. */
import { existsSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import picomatch from "picomatch";
import { configGlobMatcher } from "../config/fileFilters.js";
import { changedFiles } from "../discover/changedFiles.js";
import { type DiscoverOptions, type DiscoverResult, discover, discoverRoot, inputPaths } from "../discover/discover.js";
import { projectRoot as findProjectRoot, startDirectory } from "../discover/projectRoot.js";
import { cacheKeyDirectory, loadCacheKey } from "../cache/cacheKey.js";
import { cachePlacementProblem, cacheRootProblem, prepareCacheRoot } from "../cache/cacheRoot.js";
import { extractorFingerprint } from "../cache/factsCache.js";
import { ResultCache } from "../cache/resultCache.js";
import { describeError } from "../cache/safeFs.js";
import { extractFiles } from "./extractFiles.js";
import type { BudgetTimer } from "./pool.js";
import { type BuildOptions, buildProject, type Project } from "../project/buildProject.js";
import { type AnalyseOptions, analyse } from "../analysis/engine.js";
import type { ExtractOptions } from "../extract/extractFileFacts.js";
import type { FileFacts } from "../extract/facts.js";
import { UsageError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import { fingerprint } from "../core/fingerprint.js";
import type { ScanError, ScanResult, ScanStats } from "../core/result.js";
import { type Confidence, SEVERITIES, type Severity } from "../core/severity.js";
import { RULES, findRule, selectRules } from "../rules/registry.js";
import type { Rule } from "../analysis/rule.js";
import { nearest } from "../config/suggest.js";
import { type Baseline, applyBaseline } from "../report/baseline.js";
import { projectPaths } from "../report/paths.js";
import { TOOL_NAME, TOOL_VERSION } from "../version.js";

export interface ScanOptions {
  /** Files and directories to scan; default the working directory. */
  paths?: readonly string[];
  cwd?: string;
  select?: readonly string[];
  ignore?: readonly string[];
  exclude?: readonly string[];
  /** Report in tests, migrations and management commands too. */
  includeNonRequest?: boolean;
  /** Also report races only privileged actors can cause when the window is narrow (DESIGN.md §1). */
  strict?: boolean;
  /** Extra dotted names that open a transaction, like `transaction.atomic`. */
  transactionNames?: readonly string[];
  /** Files larger than this are skipped and reported. */
  maxFileBytes?: number;
  /** Called after each file is extracted (for progress bars). */
  onFile?: (done: number, total: number) => void;
  /** Worker threads that parse files, at most MAX_JOBS; default the number of cores. Output does not depend on it. */
  jobs?: number;
  /** Per-file extraction time budget in milliseconds, 100 to 3,600,000 (default 20 s); a file over it is skipped and reported. */
  fileTimeoutMs?: number;
  /**
   * Directory of the caches (relative to `cwd`); absent or null: no cache. The CLI defaults it to
   * `.stalecheck-cache`. A directory that is not one stalecheck may use (the empty string, the
   * project or a folder holding it, a folder of Python sources, a symbolic link, a non-empty
   * directory without stalecheck's CACHEDIR.TAG, another user's…) is a UsageError.
   */
  cacheDir?: string | null;
  /**
   * `cacheDir` is a default the user did not choose: a directory that may not be used is then
   * passed over (the scan runs without a cache and `extraction.cacheUnavailable` says why)
   * instead of being a UsageError.
   */
  cacheDirDefault?: boolean;
  /**
   * Directory of the secret key that seals cache entries (see cache/cacheKey.ts); absent: from
   * the process environment (`STALECHECK_KEY_DIR`, `XDG_CACHE_HOME`, `HOME`); null: there is
   * none, and the scan runs without a cache.
   */
  cacheKeyDir?: string | null;
  /**
   * The project's root (relative to `cwd`): fingerprints and baselines name files relative to
   * it. Default: the nearest directory at or above the scan's start that holds `.git`, else the
   * scan root. The CLI passes the nearer of that and the configuration file's directory.
   */
  projectRoot?: string;
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
  /** Report only findings at or above this severity. */
  minSeverity?: Severity;
  /** Report only findings at or above this confidence. */
  minConfidence?: Confidence;
  /**
   * Scan this text as the file `path` (relative to `cwd`) instead of reading files: what an
   * editor sends on standard input (`--stdin-filename`). `paths` must be empty; no cache is used.
   */
  stdin?: { path: string; text: string };
  /** Report only findings whose check or use lies in a file changed since this git revision. */
  changedSince?: string;
  /** Accepted findings, not reported (see report/baseline.ts). */
  baseline?: Baseline;
  /**
   * Internal, for tests only: times each file's extraction budget instead of the wall clock, so
   * a test decides which file runs out of time (see `BudgetTimer` in extract/pool.ts).
   */
  testBudgetTimer?: BudgetTimer;
  /**
   * Receives the facts of every file read and the scan root, for callers that keep them in memory
   * and re-analyse edits with `factsAnalyser` (the language server, --fix). The whole-tree result
   * cache is then not consulted, so that the facts are extracted (or read from the facts cache).
   */
  onFacts?: (facts: readonly FileFacts[], root: string) => void;
}



export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;
/**
 * Most extraction workers. Parsing is CPU-bound: workers beyond the cores only share them, each
 * file then takes longer in wall time, and files start to run out of their time budget.
 */
export const MAX_JOBS = 64;
/**
 * Bounds of the per-file time budget: Node's timers cannot wait more than 2^31 - 1 ms (a longer
 * delay fires at once), and a budget under 0.1 s would skip nearly every file.
 */
export const MIN_FILE_TIMEOUT_MS = 100;
export const MAX_FILE_TIMEOUT_MS = 3_600_000;

export async function scan(options: ScanOptions = {}): Promise<ScanResult> {
  const started = performance.now();
  // Wall-clock time, for the result cache: files changed after this are not trusted by their stat.
  const startedAt = Date.now();
  const rules = selectedRules(options);
  if (options.jobs !== undefined && options.jobs > MAX_JOBS) throw new UsageError(`jobs must be at most ${MAX_JOBS}, not ${options.jobs}`);
  const timeout = options.fileTimeoutMs;
  if (timeout !== undefined && !(timeout >= MIN_FILE_TIMEOUT_MS && timeout <= MAX_FILE_TIMEOUT_MS)) {
    throw new UsageError(`fileTimeoutMs must be between ${MIN_FILE_TIMEOUT_MS} and ${MAX_FILE_TIMEOUT_MS} ms, not ${timeout}`);
  }
  // A path that does not exist is a typo in a command line or CI script: fail loudly, exit 2.
  const cwd = options.cwd ?? process.cwd();
  const stdin = options.stdin;
  if (stdin && (options.paths ?? []).length > 0) throw new UsageError("a scan of standard input takes no other path");
  // Standard input is scanned as the file it names, found where it would be on disk (it need not exist).
  const paths = stdin ? [stdin.path] : options.paths ?? [];
  for (const path of stdin ? [] : paths) {
    if (!existsSync(resolve(cwd, path))) throw new UsageError(`no such file or directory: ${path}`);
  }
  const scanRoot = discoverRoot(cwd, paths);
  const inputs = inputPaths(cwd, paths);
  const project = options.projectRoot !== undefined ? resolve(cwd, options.projectRoot) : findProjectRoot(startDirectory(cwd, paths), null, scanRoot);
  const chosen = stdin ? { cache: null, unavailable: null } : chooseCache(options, cwd, scanRoot, inputs);
  let cacheUnavailable = chosen.unavailable;
  let cacheSetup = chosen.cache;
  // Applied while walking, so an excluded directory is not entered and its problems are not reported.
  const configExclude = options.configExclude ?? [];
  const skip = configExclude.length > 0 ? configGlobMatcher(options.configDir ?? scanRoot, configExclude) : undefined;
  const discoverOptions: DiscoverOptions = { cwd, paths, exclude: options.exclude ?? [], ...(skip ? { skip } : {}) };
  let found = stdin ? stdinFile(scanRoot, inputs[0]!, stdin.text, skip, options.exclude ?? []) : discover({ ...discoverOptions, ...(cacheSetup ? { cacheDir: cacheSetup.dir } : {}) });
  if (cacheSetup) {
    const problem = cachePlacementProblem(cacheSetup.dir, scanRoot, inputs, found.cacheSources);
    if (problem) {
      if (!options.cacheDirDefault) throw new UsageError(problem);
      // Not a cache, so not left out: its sources are scanned like any others.
      [cacheSetup, cacheUnavailable, found] = [null, problem, discover(discoverOptions)];
    }
  }
  let cacheRootError: string | null = null;
  if (cacheSetup) {
    try {
      prepareCacheRoot(cacheSetup.dir);
    } catch (error) {
      cacheRootError = describeError(error);
    }
  }
  // Asked before the scan so that a bad revision fails at once.
  const changed = options.changedSince !== undefined ? changedFiles(found.root, options.changedSince) : null;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const setup = analysisSetup(options, found.root, rules);
  const { extract, project: projectOptions } = setup;
  // What the result cache is keyed on: the rules run and what decides which races are reported.
  const analyseOptions = { rules, includeNonRequest: setup.analyse.includeNonRequest, strict: setup.analyse.strict ?? false };
  // Both caches key on the extractor's fingerprint, which reads the grammar: computed once.
  const factsCache = cacheSetup ? { ...cacheSetup, fingerprint: extractorFingerprint(extract), rootError: cacheRootError } : null;
  const results = factsCache
    ? new ResultCache(factsCache.dir, factsCache.key, {
      root: found.root, maxFileBytes, extractor: factsCache.fingerprint, project: projectOptions,
      analyse: { ...analyseOptions, rules: rules.map((r) => r.meta.code) },
    })
    : null;
  let analysis = options.onFacts ? null : results?.lookup(found.files, maxFileBytes) ?? null;
  let extraction: ScanStats;
  if (analysis) {
    extraction = { parsed: 0, cached: found.files.length, cacheRejected: 0, cacheWriteError: null, analysisCached: true, cacheUnavailable };
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
    options.onFacts?.(extracted.facts, found.root);
    const project: Project = buildProject(extracted.facts, projectOptions);
    analysis = {
      findings: analyse(project, setup.analyse),
      fileErrors: extracted.errors,
      endpoints: project.endpoints,
      settingsFiles: project.settings.files,
      functions: extracted.facts.reduce((n, f) => n + f.functions.length, 0),
      djangoFiles: extracted.facts.filter((f) => Object.values(f.imports).some((module) => /^(django|rest_framework)(\.|$)/.test(module))).length,
    };
    extraction = { ...extracted.stats, analysisCached: false, cacheUnavailable };
    if (results && !extracted.transient && extracted.stats.cacheWriteError === null) {
      extraction.cacheWriteError = results.store(found.files, startedAt, extracted.contentKeys, extracted.identities, analysis);
    }
  }
  const errors: ScanError[] = [...found.errors, ...analysis.fileErrors];
  // Extraction errors with a line are syntax problems of a parsed file; one without is a file skipped whole.
  const analysedFiles = found.files.length - new Set(analysis.fileErrors.filter((e) => e.line === undefined).map((e) => e.file)).size;
  // The engine fingerprints files by their path from the scan root; baselines need the project's.
  const projectPath = projectPaths({ root: found.root, projectRoot: project });
  const rekeyed = fingerprint(analysis.findings, projectPath);
  const { findings, baselined } = narrowFindings(rekeyed, found.root, changed, options, projectPath);
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
    cwd: resolve(cwd),
    projectRoot: project,
    endpoints: analysis.endpoints,
    settingsFiles: analysis.settingsFiles,
    extraction,
    ...(options.baseline ? { baselined } : {}),
    ...(analysis.djangoFiles !== undefined ? { djangoFiles: analysis.djangoFiles } : {}),
    analysedFiles,
  };
}

/** What discovery finds when standard input is scanned as `absolute`: that file, unless the configuration or --exclude excludes it. */
function stdinFile(root: string, absolute: string, text: string, skip: ((absolute: string) => boolean) | undefined, exclude: readonly string[]): DiscoverResult {
  const path = relative(root, absolute).split(sep).join("/");
  const excluded = skip?.(absolute) || (exclude.length > 0 && picomatch([...exclude], { dot: true })(path));
  return { root, files: excluded ? [] : [{ absolute, path, text }], errors: [], cacheSources: [] };
}

/** The rules `select` and `ignore` choose; an unknown selector is a usage error, with a guess. */
function selectedRules(options: ScanOptions): Rule[] {
  const { rules, unknown } = selectRules(options.select, options.ignore);
  if (unknown.length > 0) {
    const guess = nearest(unknown[0]!, RULES.flatMap((r) => [r.meta.code, r.meta.name]));
    throw new UsageError(`unknown rule selector: ${unknown.join(", ")}${guess ? ` (did you mean ${guess}?)` : ""} (see \`stalecheck rules\`)`);
  }
  return rules;
}

/** What a scan's options make of facts: how files are extracted, the project built and the rules run. */
interface AnalysisSetup {
  extract: ExtractOptions;
  project: BuildOptions;
  analyse: AnalyseOptions;
}

function analysisSetup(options: ScanOptions, root: string, rules: readonly Rule[]): AnalysisSetup {
  // Classes are written in views by their last name (`authentication_classes = [LegacyBasic]`).
  const basicAuthClasses = (options.basicAuthClasses ?? []).flatMap((name) => [name, name.split(".").pop()!]);
  const basicAuthNames = [...new Set([...basicAuthClasses, ...(options.basicAuthMiddleware ?? [])])];
  return {
    extract: { transactionNames: options.transactionNames ?? [] },
    project: { rootName: basename(root), basicAuthNames, authzModels: options.sensitiveModels ?? [], checkHelpers: options.checkHelpers ?? [] },
    analyse: { rules, includeNonRequest: options.includeNonRequest ?? false, strict: options.strict ?? false, findRule },
  };
}

/**
 * Analyses facts held in memory as `scan(options)` analyses a tree's, for the language server
 * and --fix, which keep every file's facts and re-extract only the files that changed.
 */
export interface FactsAnalyser extends AnalysisSetup {
  root: string;
  /** The findings `scan(options)` would report for these facts: suppressions, per-file ignores, --changed-since and the baseline applied. */
  findings(facts: readonly FileFacts[]): Finding[];
}

export function factsAnalyser(options: ScanOptions, root: string): FactsAnalyser {
  const setup = analysisSetup(options, root, selectedRules(options));
  const changed = options.changedSince !== undefined ? changedFiles(root, options.changedSince) : null;
  const projectRoot = options.projectRoot !== undefined ? resolve(options.cwd ?? process.cwd(), options.projectRoot) : findProjectRoot(root, null, root);
  const projectPath = projectPaths({ root, projectRoot });
  return {
    ...setup,
    root,
    findings: (facts) => narrowFindings(fingerprint(analyse(buildProject([...facts], setup.project), setup.analyse), projectPath), root, changed, options, projectPath).findings,
  };
}

/**
 * The cache directory and key a scan may use, before its files are discovered: the placement
 * and the existing directory checked (a UsageError, or for a default location a reason to run
 * without a cache), then the key loaded (without one, the scan runs without a cache).
 */
function chooseCache(options: ScanOptions, cwd: string, scanRoot: string, inputs: readonly string[]): { cache: { dir: string; key: Buffer } | null; unavailable: string | null } {
  if (options.cacheDir === undefined || options.cacheDir === null) return { cache: null, unavailable: null };
  const dir = options.cacheDir === "" ? "" : resolve(cwd, options.cacheDir);
  const problem = cachePlacementProblem(dir, scanRoot, inputs) ?? cacheRootProblem(dir);
  if (problem) {
    if (!options.cacheDirDefault) throw new UsageError(problem);
    return { cache: null, unavailable: problem };
  }
  const keyDir = options.cacheKeyDir === undefined ? cacheKeyDirectory(process.env, cwd) : options.cacheKeyDir;
  const key = loadCacheKey(keyDir, [scanRoot, ...inputs]);
  return "key" in key ? { cache: { dir, key: key.key }, unavailable: null } : { cache: null, unavailable: key.problem };
}

/** Per-file ignores, then --changed-since, then the baseline. */
function narrowFindings(findings: Finding[], root: string, changed: ReadonlySet<string> | null, options: ScanOptions, projectPath: (file: string) => string): { findings: Finding[]; baselined: number } {
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
  if (options.minSeverity !== undefined) out = atOrAbove(out, options.minSeverity);
  if (options.minConfidence !== undefined) {
    const min = CONFIDENCES.indexOf(options.minConfidence);
    out = out.filter((f) => CONFIDENCES.indexOf(f.confidence) >= min);
  }
  if (!options.baseline) return { findings: out, baselined: 0 };
  const { findings: uncovered, covered } = applyBaseline(out, options.baseline, { projectPath });
  return { findings: uncovered, baselined: covered };
}

const CONFIDENCES: readonly Confidence[] = ["low", "medium", "high"];

/** Findings at or above a severity threshold. */
export function atOrAbove(findings: readonly Finding[], threshold: Severity): Finding[] {
  const min = SEVERITIES.indexOf(threshold);
  return findings.filter((f) => SEVERITIES.indexOf(f.severity) >= min);
}
