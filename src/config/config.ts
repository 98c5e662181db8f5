/**
 * Configuration: `[tool.stalecheck]` in the nearest `pyproject.toml`, or the top level of the
 * nearest `stalecheck.toml`, or the file given with `--config`. Every key is checked: an
 * unknown key or a bad value is an error naming the key (and, for a typo, the key meant).
 */
import { existsSync, realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { isWithin, shownPath } from "../discover/paths.js";
import { startDirectory } from "../discover/projectRoot.js";
import { UnreadableFile, readRegularFile } from "../discover/regularFile.js";
import { RULES, selectRules } from "../rules/registry.js";
import { UsageError } from "../core/errors.js";
import { SEVERITIES, type Severity } from "../core/severity.js";
import { globProblem } from "./fileFilters.js";
import { parseByteSize } from "./size.js";
import { nearest } from "./suggest.js";

export class ConfigError extends UsageError {
  /** Where a file could not be parsed: the line's text (raw: escape it to show it), with line and column from 1. */
  source?: { line: number; column: number; text: string };
}

/** Largest configuration file read: a real one is a few kilobytes. */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;

/** What a configuration file says, validated; paths made absolute. */
export interface StalecheckConfig {
  select?: string[];
  ignore?: string[];
  /** Globs relative to the config file's directory. */
  exclude?: string[];
  failOn?: Severity;
  /** Glob (relative to the config file's directory) → rule selectors not reported there. */
  perFileIgnores?: Record<string, string[]>;
  includeNonRequest?: boolean;
  strict?: boolean;
  maxFileBytes?: number;
  /** Absolute path of the baseline file. */
  baseline?: string;
  /** Vocabulary extensions: names of functions that are authorization checks. */
  checkHelpers?: string[];
  /** Vocabulary extensions: models whose rows authorization decisions depend on. */
  sensitiveModels?: string[];
  /** Vocabulary extensions: authentication classes that accept HTTP Basic credentials. */
  basicAuthClasses?: string[];
  /** Vocabulary extensions: middleware that decodes `Authorization: Basic …`. */
  basicAuthMiddleware?: string[];
  /** Vocabulary extensions: decorators and context managers that open a transaction. */
  transactionNames?: string[];
}

export interface LoadedConfig {
  /** The file read, absolute; null when there is none. */
  file: string | null;
  /**
   * The directory globs and paths in the file are relative to: the file's own directory, or
   * the working directory for a file given with --config (a shared configuration, as in Ruff);
   * null when there is no file.
   */
  dir: string | null;
  config: StalecheckConfig;
}

type Check = (value: unknown, key: string) => unknown;

const PYTHON_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Every key, its validator and the field it fills. Documented in the README ("Configuration"). */
const KEYS: Record<string, { field: keyof StalecheckConfig; check: Check }> = {
  select: { field: "select", check: (v, k) => ruleSelectors(v, k) },
  ignore: { field: "ignore", check: (v, k) => ruleSelectors(v, k) },
  exclude: { field: "exclude", check: (v, k) => globs(v, k) },
  "fail-on": { field: "failOn", check: (v, k) => oneOf(v, k, SEVERITIES) },
  "per-file-ignores": { field: "perFileIgnores", check: perFileIgnores },
  "include-non-request": { field: "includeNonRequest", check: boolean },
  strict: { field: "strict", check: boolean },
  "max-file-size": { field: "maxFileBytes", check: size },
  baseline: { field: "baseline", check: (v, k) => nonEmptyString(v, k) },
  "check-helpers": { field: "checkHelpers", check: (v, k) => pythonNames(v, k) },
  "sensitive-models": { field: "sensitiveModels", check: (v, k) => pythonNames(v, k) },
  "basic-auth-classes": { field: "basicAuthClasses", check: (v, k) => pythonNames(v, k) },
  "basic-auth-middleware": { field: "basicAuthMiddleware", check: (v, k) => pythonNames(v, k) },
  "transaction-decorators": { field: "transactionNames", check: (v, k) => pythonNames(v, k) },
};

export const CONFIG_KEYS: readonly string[] = Object.keys(KEYS);

/** The spec of a key; own keys only, so that `constructor` or `__proto__` is an unknown key, not Object's. */
function keySpec(key: string): (typeof KEYS)[string] | undefined {
  return Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
}

/**
 * Finds and reads the configuration for a scan: `configFile` when given, otherwise the
 * nearest `stalecheck.toml` or `pyproject.toml` with a `[tool.stalecheck]` table, looking
 * from the scanned directory (the working directory when several paths are scanned) upwards.
 */
export function loadConfig(options: { cwd: string; paths: readonly string[]; configFile?: string | null }): LoadedConfig {
  const file = options.configFile ? resolve(options.cwd, options.configFile) : findConfigFile(startDirectory(options.cwd, options.paths), options.cwd);
  if (!file) return { file: null, dir: null, config: {} };
  if (options.configFile && !existsSync(file)) throw new ConfigError(`--config ${options.configFile}: no such file`);
  const dir = options.configFile ? resolve(options.cwd) : dirname(file);
  return { file, dir, config: readConfigFile(file, options.cwd, dir) };
}

/** The nearest `stalecheck.toml`, or `pyproject.toml` with a `[tool.stalecheck]` table, from `dir` up. */
export function findConfigFile(dir: string, cwd = process.cwd()): string | null {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const own = resolve(current, "stalecheck.toml");
    if (existsSync(own)) return own;
    const pyproject = resolve(current, "pyproject.toml");
    if (existsSync(pyproject) && stalecheckTable(pyproject, readToml(pyproject, shownPath(cwd, pyproject))) !== undefined) return pyproject;
    if (dirname(current) === current) return null;
  }
}

/** Reads and validates one configuration file; `base` is the directory its paths are relative to. */
export function readConfigFile(file: string, cwd = process.cwd(), base = dirname(file)): StalecheckConfig {
  const shown = shownPath(cwd, file);
  const document = readToml(file, shown);
  const isPyproject = basename(file) === "pyproject.toml";
  const table = isPyproject ? stalecheckTable(file, document) : document;
  if (table === undefined) throw new ConfigError(`${shown} has no [tool.stalecheck] table`);
  const where = isPyproject ? `[tool.stalecheck] in ${shown}` : shown;
  const config: StalecheckConfig = {};
  for (const [key, value] of Object.entries(table)) {
    const spec = keySpec(key);
    if (!spec) {
      const hint = key === "tool" && !isPyproject
        ? " (stalecheck.toml takes its keys at the top level, without [tool.stalecheck])"
        : suggestion(nearest(key, CONFIG_KEYS));
      throw new ConfigError(`unknown key "${key}" in ${where}${hint}; valid keys: ${CONFIG_KEYS.join(", ")}`);
    }
    try {
      (config as Record<string, unknown>)[spec.field] = spec.check(value, key);
    } catch (error) {
      if (error instanceof ValueError) throw new ConfigError(`${where}: ${error.message}`);
      throw error;
    }
  }
  if (config.baseline !== undefined) {
    try {
      config.baseline = pathInside(base, config.baseline, "baseline");
    } catch (error) {
      if (error instanceof ValueError) throw new ConfigError(`${where}: ${error.message}`);
      throw error;
    }
  }
  return config;
}

/**
 * A path the configuration names, which the repository controls: relative, and inside `base`
 * (the configuration's directory) also once links are resolved, so that a committed
 * configuration cannot point stalecheck at a file elsewhere on the machine.
 */
function pathInside(base: string, value: string, key: string): string {
  if (isAbsolute(value)) throw new ValueError(`"${key}" must be a path relative to the configuration's directory, not the absolute path "${value}" (give an absolute path on the command line instead)`);
  const path = resolve(base, value);
  if (!isWithin(base, path)) throw new ValueError(`"${key}": "${value}" leads out of the configuration's directory`);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    // Missing: reading it says so.
    return path;
  }
  if (!isWithin(realpathSync(base), real)) throw new ValueError(`"${key}": "${value}" is or passes through a symbolic link that leads out of the configuration's directory`);
  return path;
}

function readToml(file: string, shown: string): Record<string, unknown> {
  let text: string;
  try {
    text = readRegularFile(file, MAX_CONFIG_BYTES);
  } catch (error) {
    if (error instanceof UnreadableFile) throw new ConfigError(`cannot read ${shown}: ${error.message}`);
    throw error;
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    // Only the first line of the message, the position and that one line of the file, escaped and cut short:
    // the file may not be a configuration at all.
    const { line, column } = error as { line?: number; column?: number };
    const reason = (error as Error).message.replace(/\n[\s\S]*$/, "").replace(/^Invalid TOML document: /, "");
    if (typeof line !== "number" || typeof column !== "number") throw new ConfigError(`${shown} is not valid TOML: ${reason}`);
    const problem = new ConfigError(`${shown}:${line}:${column}: not valid TOML: ${reason}`);
    // A committed link may lead to any file of the machine (a CI secret): its lines are never shown.
    if (!leadsOutOfItsDirectory(file)) problem.source = { line, column, text: text.split(/\r\n|\n|\r/)[line - 1] ?? "" };
    throw problem;
  }
}

function leadsOutOfItsDirectory(file: string): boolean {
  try {
    return !isWithin(realpathSync(dirname(file)), realpathSync(file));
  } catch {
    return true;
  }
}

function stalecheckTable(file: string, document: Record<string, unknown>): Record<string, unknown> | undefined {
  const tool = document.tool;
  if (!isTable(tool) || tool.stalecheck === undefined) return undefined;
  if (!isTable(tool.stalecheck)) throw new ConfigError(`tool.stalecheck in ${file} must be a table ([tool.stalecheck])`);
  return tool.stalecheck;
}

// ---- value checks -----------------------------------------------------------------------------

class ValueError extends Error {}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : isTable(value) ? "a table" : JSON.stringify(value) ?? String(value);
}

function suggestion(candidate: string | null): string {
  return candidate ? ` (did you mean "${candidate}"?)` : "";
}

function strings(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v.trim() === "")) {
    throw new ValueError(`"${key}" must be a list of non-empty strings, like ["…"], not ${show(value)}`);
  }
  return value.map((v: string) => v.trim());
}

function globs(value: unknown, key: string): string[] {
  const list = strings(value, key);
  for (const glob of list) {
    const problem = globProblem(glob, { configGlob: true });
    if (problem) throw new ValueError(`"${key}": "${glob.length > 80 ? `${glob.slice(0, 77)}...` : glob}" ${problem.startsWith("names") ? problem : `is not a usable glob: ${problem}`}`);
  }
  return list;
}

function nonEmptyString(value: unknown, key: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new ValueError(`"${key}" must be a non-empty string, not ${show(value)}`);
  return value.trim();
}

function boolean(value: unknown, key: string): boolean {
  if (typeof value !== "boolean") throw new ValueError(`"${key}" must be true or false, not ${show(value)}`);
  return value;
}

function oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T {
  if (typeof value === "string" && allowed.includes(value as T)) return value as T;
  const hint = typeof value === "string" ? suggestion(nearest(value, allowed)) : "";
  throw new ValueError(`"${key}" must be one of ${allowed.join(", ")}, not ${show(value)}${hint}`);
}

function size(value: unknown, key: string): number {
  const bytes = typeof value === "number" && Number.isInteger(value) && value > 0 ? value : typeof value === "string" ? parseByteSize(value) : null;
  if (bytes === null || bytes <= 0) throw new ValueError(`"${key}" must be a size such as "5MB" or "500KB" (or a number of bytes), not ${show(value)}`);
  return bytes;
}

function ruleSelectors(value: unknown, key: string): string[] {
  const list = strings(value, key);
  const { unknown } = selectRules(list, undefined);
  if (unknown.length > 0) {
    const names = RULES.flatMap((r) => [r.meta.code, r.meta.name]);
    const bad = unknown[0]!;
    throw new ValueError(`"${key}" names no rule: "${bad}"${suggestion(nearest(bad, names))} (codes, code prefixes such as "STC1", or names; see \`stalecheck rules\`)`);
  }
  return list;
}

function pythonNames(value: unknown, key: string): string[] {
  const list = strings(value, key);
  const bad = list.find((name) => !PYTHON_NAME.test(name));
  if (bad !== undefined) throw new ValueError(`"${key}": "${bad}" is not a Python name or dotted path (like "myapp.auth.require_admin")`);
  return list;
}

function perFileIgnores(value: unknown, key: string): Record<string, string[]> {
  if (!isTable(value)) throw new ValueError(`"${key}" must be a table of glob = ["rule", …], not ${show(value)}`);
  const entries: [string, string[]][] = [];
  for (const [glob, selectors] of Object.entries(value)) {
    if (isAbsolute(glob)) throw new ValueError(`"${key}": "${glob}" must be relative to the directory of the configuration file`);
    globs([glob], key);
    entries.push([glob, ruleSelectors(selectors, `${key}."${glob}"`)]);
  }
  // fromEntries defines own properties: a "__proto__" glob stays a glob, not the object's prototype.
  return Object.fromEntries(entries);
}
