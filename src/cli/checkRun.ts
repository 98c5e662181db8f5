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
import { formatConcise } from "../report/concise.js";
import { formatGitlab } from "../report/gitlab.js";
import { formatJunit } from "../report/junit.js";
import { formatStatisticsJson, formatStatisticsText } from "../report/statistics.js";
import { RULES, selectRules } from "../rules/registry.js";
import { pathShower } from "../report/paths.js";
import { nearest } from "../config/suggest.js";
import { UsageError } from "../core/errors.js";
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
    select: ruleSelection(args, config.select, config.ignore),
    // --extend-exclude adds to the configuration's list; --exclude replaces it.
    exclude: [...args.exclude, ...args.extendExclude],
    ...(args.exclude.length === 0 && config.exclude ? { configExclude: config.exclude } : {}),
    ...(dir !== null ? { configDir: dir } : {}),
    ...(config.perFileIgnores ? { perFileIgnores: config.perFileIgnores } : {}),
    includeNonRequest: args.includeNonRequest || (config.includeNonRequest ?? false),
    strict: args.strict || (config.strict ?? false),
    ...(args.maxFileBytes !== undefined || config.maxFileBytes !== undefined ? { maxFileBytes: args.maxFileBytes ?? config.maxFileBytes } : {}),
    transactionNames: config.transactionNames ?? [],
    checkHelpers: config.checkHelpers ?? [],
    sensitiveModels: config.sensitiveModels ?? [],
    basicAuthClasses: config.basicAuthClasses ?? [],
    basicAuthMiddleware: config.basicAuthMiddleware ?? [],
    ...(args.changedSince !== null ? { changedSince: args.changedSince } : {}),
    ...(args.minSeverity !== undefined ? { minSeverity: args.minSeverity } : {}),
    ...(args.minConfidence !== undefined ? { minConfidence: args.minConfidence } : {}),
    ...(baselineFile !== null ? { baseline: readBaseline(baselineFile) } : {}),
  };
  return { scan, failOn: args.failOn ?? config.failOn ?? "low", configFile: file, projectRoot: root };
}

/**
 * The rules to run, as codes: `--select` (else the configuration's `select`, else every rule),
 * less `--ignore` (else the configuration's `ignore`, which a `--select` on the command line
 * replaces along with `select`, as in Ruff), plus `--extend-select`. An unknown selector, or a
 * selection that leaves no rule, is a usage error.
 */
export function ruleSelection(args: Pick<CheckArgs, "select" | "ignore" | "extendSelect">, configSelect: readonly string[] | undefined, configIgnore: readonly string[] | undefined): string[] {
  const select = args.select ?? configSelect;
  const ignore = args.ignore ?? (args.select !== undefined ? undefined : configIgnore);
  for (const [option, selectors] of [["--select", args.select], ["--ignore", args.ignore], ["--extend-select", args.extendSelect]] as const) {
    const { unknown } = selectRules(selectors ?? [], undefined);
    if (unknown.length > 0 && selectors !== undefined && selectors.length > 0) throw new UsageError(unknownSelector(option, unknown[0]!));
  }
  const chosen = new Set(selectRules(select, ignore).rules.map((r) => r.meta.code));
  if (args.extendSelect.length > 0) for (const rule of selectRules(args.extendSelect, undefined).rules) chosen.add(rule.meta.code);
  if (chosen.size === 0) {
    const given = [select ? `select ${select.join(",")}` : null, ignore ? `ignore ${ignore.join(",")}` : null].filter(Boolean).join(" and ");
    throw new UsageError(`no rule left to run: ${given} leave none (flags: ${args.select ? "--select" : "the configuration"}; see \`stalecheck rules\`)`);
  }
  return RULES.map((r) => r.meta.code).filter((code) => chosen.has(code));
}

/** "unknown rule selector" with the rule probably meant. */
export function unknownSelector(option: string, selector: string): string {
  const guess = nearest(selector, RULES.flatMap((r) => [r.meta.code, r.meta.name]));
  return `${option}: unknown rule selector: ${selector}${guess ? ` (did you mean ${guess}?)` : ""} (see \`stalecheck rules\`)`;
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
  return `no file could be analysed: ${count === 1 ? "the only one was" : `all ${count} were`} skipped (${pathShower(result)(first.file)}: ${first.message}${count > 1 ? "; …" : ""})`;
}

/** The report in the chosen format. Every format shows paths from `cwd`, the repository root in CI (see report/paths.ts). */
export function renderReport(format: Format, result: ScanResult, options: { color: boolean; cwd: string; quiet?: boolean; statistics?: boolean }): string {
  if (options.statistics) return format === "json" ? formatStatisticsJson(result) : formatStatisticsText(result);
  const quiet = options.quiet ?? false;
  switch (format) {
    case "json":
      return formatJson(result);
    case "sarif":
      return formatSarif(result, { baseDir: options.cwd });
    case "github":
      return formatGithub(result, { baseDir: options.cwd });
    case "gitlab":
      return formatGitlab(result, { baseDir: options.cwd });
    case "junit":
      return formatJunit(result, { baseDir: options.cwd });
    case "concise":
      return formatConcise(result, { baseDir: options.cwd, quiet });
    case "full":
    case "text":
      return formatText(result, { color: options.color, baseDir: options.cwd, quiet });
  }
}
