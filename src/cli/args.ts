/** Command-line parsing: a small, strict parser so that a typo is an error, not a silent default. */
import { globProblem } from "../config/fileFilters.js";
import { parseByteSize } from "../config/size.js";
import { nearest } from "../config/suggest.js";
import { type Confidence, SEVERITIES, type Severity } from "../core/severity.js";
import { MAX_FILE_TIMEOUT_MS, MAX_JOBS, MIN_FILE_TIMEOUT_MS } from "../run/scan.js";

/** `text` is the old name of `full`, kept working. */
export type Format = "full" | "concise" | "text" | "json" | "sarif" | "github" | "gitlab" | "junit";
export const FORMATS: readonly Format[] = ["full", "concise", "json", "sarif", "github", "gitlab", "junit", "text"];
export const CONFIDENCES: readonly Confidence[] = ["low", "medium", "high"];
/** How much goes to standard error besides errors: `quiet` drops warnings, hints and the summary line. */
export type Verbosity = "quiet" | "normal" | "verbose";

/** `check`, and `endpoints`, which reads the project the same way and prints its routes instead. */
export interface CheckArgs {
  command: "check" | "endpoints";
  paths: string[];
  format: Format;
  output: string | null;
  select: string[] | undefined;
  ignore: string[] | undefined;
  /** --extend-select: rules added to the configured (or default) selection. */
  extendSelect: string[];
  exclude: string[];
  /** --extend-exclude: globs added to the configuration's exclude list (--exclude replaces it). */
  extendExclude: string[];
  /** undefined: not given (the configuration or the default, low, decides). */
  failOn: Severity | undefined;
  includeNonRequest: boolean;
  /** --strict: also races only privileged actors can cause, whatever the window. */
  strict: boolean;
  maxFileBytes: number | undefined;
  jobs: number | undefined;
  /** null: --no-cache; undefined: the default location. */
  cacheDir: string | null | undefined;
  fileTimeoutMs: number | undefined;
  /** --config FILE; null: look for the nearest stalecheck.toml / pyproject.toml. */
  config: string | null;
  baseline: string | null;
  writeBaseline: string | null;
  changedSince: string | null;
  /** False with --no-progress. */
  progress: boolean;
  /** --exit-zero: exit 0 even with findings (2 still means an error). */
  exitZero: boolean;
  /** --statistics: counts per rule instead of the findings. */
  statistics: boolean;
  /** --severity / --confidence: report only findings at or above these (the exit code follows what is reported). */
  minSeverity: Severity | undefined;
  minConfidence: Confidence | undefined;
  verbosity: Verbosity;
  /** --stdin-filename PATH: scan standard input as the file PATH. */
  stdinFilename: string | null;
  /** --fix: apply fixes and write them; --unsafe-fixes: unsafe ones too; --diff: print them instead of writing. */
  fix: boolean;
  unsafeFixes: boolean;
  diff: boolean;
}

export type ParsedArgs =
  | CheckArgs
  | { command: "rules"; format: Format }
  | { command: "explain"; rule: string }
  | { command: "help" }
  | { command: "version" };

export class ArgsError extends Error {}

const VALUE_OPTIONS = new Set([
  "--format", "--output", "-o", "--select", "--ignore", "--extend-select", "--exclude", "--extend-exclude", "--fail-on", "--severity", "--confidence",
  "--max-file-size", "--jobs", "-j", "--cache-dir", "--file-timeout", "--config", "--baseline", "--write-baseline", "--changed-since", "--stdin-filename",
]);
const FLAG_OPTIONS = new Set([
  "--include-non-request", "--strict", "--no-cache", "--no-progress", "--exit-zero", "--statistics", "--quiet", "-q", "--verbose", "-v", "--help", "-h", "--version", "-V",
  "--fix", "--unsafe-fixes", "--diff",
]);

/** Every option `check` takes, long and short forms (the README's options table and HELP list them all). */
export const OPTION_NAMES: readonly string[] = [...VALUE_OPTIONS, ...FLAG_OPTIONS];

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("-") && arg !== "-") {
      const eq = arg.indexOf("=");
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      if (VALUE_OPTIONS.has(name)) {
        const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new ArgsError(`${name} needs a value`);
        const key = name === "-o" ? "--output" : name === "-j" ? "--jobs" : name;
        values.set(key, [...(values.get(key) ?? []), value]);
        continue;
      }
      if (FLAG_OPTIONS.has(name) && eq < 0) {
        flags.add(name);
        continue;
      }
      throw new ArgsError(`unknown option ${name}${suggest(name)}`);
    }
    positionals.push(arg);
  }
  if (flags.has("--help") || flags.has("-h")) return { command: "help" };
  if (flags.has("--version") || flags.has("-V")) return { command: "version" };
  const format = one(values, "--format") ?? "full";
  if (!FORMATS.includes(format as Format)) throw new ArgsError(`--format must be one of ${FORMATS.join(", ")}, not "${format}"`);

  const [first, ...rest] = positionals;
  if (first === "help") return { command: "help" };
  if (first === "rules") {
    if (rest.length > 0) throw new ArgsError("`stalecheck rules` takes no arguments");
    return { command: "rules", format: format as Format };
  }
  if (first === "explain") {
    if (rest.length !== 1) throw new ArgsError("usage: stalecheck explain CODE|NAME");
    return { command: "explain", rule: rest[0]! };
  }
  const command = first === "endpoints" ? "endpoints" : "check";
  const paths = first === "check" || first === "endpoints" ? rest : positionals;
  if (command === "endpoints") {
    if (format !== "text" && format !== "full" && format !== "json") throw new ArgsError(`\`stalecheck endpoints\` prints text or json, not "${format}"`);
    const findingsOnly = ["--fail-on", "--baseline", "--write-baseline", "--changed-since", "--severity", "--confidence", "--stdin-filename"].find((name) => values.has(name))
      ?? ["--exit-zero", "--statistics"].find((name) => flags.has(name));
    if (findingsOnly) throw new ArgsError(`${findingsOnly} applies to \`stalecheck check\`, not to \`stalecheck endpoints\``);
  }
  if (flags.has("--statistics") && !["full", "text", "concise", "json"].includes(format)) throw new ArgsError(`--statistics prints text or json, not "${format}"`);
  const quiet = flags.has("--quiet") || flags.has("-q");
  const verbose = flags.has("--verbose") || flags.has("-v");
  if (quiet && verbose) throw new ArgsError("--quiet and --verbose cannot be used together");
  const stdinFilename = one(values, "--stdin-filename") ?? null;
  if (stdinFilename !== null) {
    if (stdinFilename.trim() === "") throw new ArgsError("--stdin-filename needs the path of the file standard input holds");
    if (paths.some((p) => p !== "-")) throw new ArgsError("--stdin-filename scans standard input: give no other path (or -)");
    if (values.has("--write-baseline")) throw new ArgsError("--write-baseline records a whole scan, not standard input");
  }
  fixOptionsProblem(command, format, flags, values);
  const failOn = oneOf(values, "--fail-on", SEVERITIES);
  const minSeverity = oneOf(values, "--severity", SEVERITIES);
  const minConfidence = oneOf(values, "--confidence", CONFIDENCES);
  const size = one(values, "--max-file-size");
  return {
    command,
    paths: stdinFilename !== null ? [] : paths,
    format: (format === "text" ? "full" : format) as Format,
    output: one(values, "--output") ?? null,
    select: list(values, "--select"),
    ignore: list(values, "--ignore"),
    extendSelect: list(values, "--extend-select") ?? [],
    exclude: excludeGlobs(values, "--exclude"),
    extendExclude: excludeGlobs(values, "--extend-exclude"),
    failOn,
    includeNonRequest: flags.has("--include-non-request"),
    strict: flags.has("--strict"),
    maxFileBytes: size === undefined ? undefined : parseSize(size),
    jobs: optionalNumber(values, "--jobs", `a whole number of worker threads from 1 to ${MAX_JOBS}`, (n) => Number.isInteger(n) && n >= 1 && n <= MAX_JOBS),
    cacheDir: cacheDirectory(values, flags),
    fileTimeoutMs: secondsToMs(optionalNumber(values, "--file-timeout", `a number of seconds from ${MIN_FILE_TIMEOUT_MS / 1000} to ${MAX_FILE_TIMEOUT_MS / 1000}`, (n) => n * 1000 >= MIN_FILE_TIMEOUT_MS && n * 1000 <= MAX_FILE_TIMEOUT_MS)),
    config: one(values, "--config") ?? null,
    ...baselineFiles(values),
    changedSince: one(values, "--changed-since") ?? null,
    progress: !flags.has("--no-progress"),
    exitZero: flags.has("--exit-zero"),
    statistics: flags.has("--statistics"),
    minSeverity,
    minConfidence,
    verbosity: quiet ? "quiet" : verbose ? "verbose" : "normal",
    stdinFilename,
    fix: flags.has("--fix"),
    unsafeFixes: flags.has("--unsafe-fixes"),
    diff: flags.has("--diff"),
  };
}

function oneOf<T extends string>(values: Map<string, string[]>, name: string, allowed: readonly T[]): T | undefined {
  const value = one(values, name);
  if (value !== undefined && !allowed.includes(value as T)) {
    const guess = nearest(value, allowed);
    throw new ArgsError(`${name} must be one of ${allowed.join(", ")}, not "${value}"${guess ? ` (did you mean ${guess}?)` : ""}`);
  }
  return value as T | undefined;
}

/** --fix, --unsafe-fixes and --diff belong to `check`, and not with a baseline being written. */
function fixOptionsProblem(command: string, format: string, flags: Set<string>, values: Map<string, string[]>): void {
  const given = ["--fix", "--unsafe-fixes", "--diff"].filter((f) => flags.has(f));
  if (given.length === 0) return;
  if (command === "endpoints") throw new ArgsError(`${given[0]} applies to \`stalecheck check\`, not to \`stalecheck endpoints\``);
  if (flags.has("--unsafe-fixes") && !flags.has("--fix") && !flags.has("--diff")) throw new ArgsError("--unsafe-fixes only applies with --fix or --diff");
  if (values.has("--write-baseline")) throw new ArgsError(`${given[0]} and --write-baseline cannot be used together (record the baseline after fixing)`);
  if (values.has("--stdin-filename")) throw new ArgsError(`${given[0]} rewrites files on disk, not standard input (--stdin-filename)`);
  if (flags.has("--diff") && format !== "text" && format !== "full") throw new ArgsError("--diff prints a unified diff; --format does not apply to it");
}

function optionalNumber(values: Map<string, string[]>, name: string, what: string, valid: (n: number) => boolean): number | undefined {
  const text = one(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || !valid(value)) throw new ArgsError(`${name} must be ${what}, not "${text}"`);
  return value;
}

/** --exclude or --extend-exclude globs, each usable: an empty one (an unset variable in a script) is a mistake, not "exclude nothing". */
function excludeGlobs(values: Map<string, string[]>, name: string): string[] {
  const globs = values.get(name) ?? [];
  for (const glob of globs) {
    const problem = globProblem(glob, { configGlob: false });
    if (problem) throw new ArgsError(`${name} "${glob.length > 80 ? `${glob.slice(0, 77)}...` : glob}": ${problem}`);
  }
  return globs;
}

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
}

function cacheDirectory(values: Map<string, string[]>, flags: Set<string>): string | null | undefined {
  const dir = one(values, "--cache-dir");
  if (flags.has("--no-cache")) {
    if (dir !== undefined) throw new ArgsError("--cache-dir and --no-cache cannot be used together");
    return null;
  }
  return dir;
}

function one(values: Map<string, string[]>, name: string): string | undefined {
  const all = values.get(name);
  if (!all) return undefined;
  if (all.length > 1) throw new ArgsError(`${name} given more than once`);
  return all[0];
}

function list(values: Map<string, string[]>, name: string): string[] | undefined {
  const all = values.get(name);
  return all ? all.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean) : undefined;
}

function baselineFiles(values: Map<string, string[]>): { baseline: string | null; writeBaseline: string | null } {
  const baseline = one(values, "--baseline") ?? null;
  const writeBaseline = one(values, "--write-baseline") ?? null;
  if (baseline !== null && writeBaseline !== null) throw new ArgsError("--baseline and --write-baseline cannot be used together (the new baseline records every current finding)");
  return { baseline, writeBaseline };
}

function parseSize(text: string): number {
  const bytes = parseByteSize(text);
  if (bytes === null) throw new ArgsError(`--max-file-size must be a size such as 5MB or 500KB, not "${text}"`);
  return bytes;
}

function suggest(name: string): string {
  const best = nearest(name, [...VALUE_OPTIONS, ...FLAG_OPTIONS].filter((o) => o.startsWith("--")));
  return best ? ` (did you mean ${best}?)` : "";
}

export const HELP = `stalecheck — find authorization time-of-check/time-of-use races in Django and DRF code

Usage:
  stalecheck [check] [PATH...]     scan files and directories (default: .)
  stalecheck rules [--format json] list the rules
  stalecheck explain CODE|NAME     print a rule's documentation
  stalecheck endpoints [PATH...]   list routes, their authentication and Basic Auth reach (text or
                                   json; reads the configuration and takes check's scan options)
  stalecheck probe --target URL …  race-test a running app (stalecheck help probe)
  stalecheck server                the language server, on stdin/stdout (README: "Editors")
  stalecheck help                  show this help

Report:
  --format FORMAT           full (the default; text is the same), concise (one line per finding),
                            json, sarif (SARIF 2.1.0), github (workflow annotations), gitlab (GitLab
                            Code Quality) or junit (JUnit XML). Paths are shown relative to the
                            working directory (absolute outside it); json gives them relative to its root
  -o, --output FILE         write the report to FILE instead of standard output (through a temporary
                            file and a rename; never a symbolic link, directory or device; a relative
                            FILE must stay inside the working directory)
  --statistics              print how many findings each rule reported instead of the findings (text or json)
  --severity SEVERITY       report only findings at or above low|medium|high|critical
  --confidence CONFIDENCE   report only findings at or above low|medium|high
  -q, --quiet               print the findings only: no summary line, no warnings or hints
  -v, --verbose             also say which configuration, project root, rules and cache were used
  --no-progress             no progress bar on stderr

Rules and files:
  --select LIST             only these rules: codes, code prefixes (STC1) or names, comma separated;
                            replaces the configuration's select and ignore
  --extend-select LIST      run these rules too, on top of the selection
  --ignore LIST             skip these rules (same forms as --select); replaces the configuration's ignore
  --exclude GLOB            skip paths matching GLOB (relative to the scan root; not empty); repeatable;
                            replaces the configuration's exclude list
  --extend-exclude GLOB     skip paths matching GLOB too, keeping the configuration's exclude list
  --include-non-request     also report in tests, migrations and management commands
  --strict                  also report races only privileged actors can cause (a revoked permission)
                            when nothing slow runs between check and use
  --stdin-filename PATH     scan standard input as the file PATH (for editors; no other path, no cache)
  --config FILE             read this configuration file instead of the nearest stalecheck.toml or
                            pyproject.toml [tool.stalecheck]

Exit code:
  --fail-on SEVERITY        exit 1 only for findings at or above low|medium|high|critical (default: low)
  --exit-zero               exit 0 even when findings are reported (2 still means an error)
  --baseline FILE           do not report the findings recorded in FILE
  --write-baseline FILE     record every current finding in FILE and exit 0 (written as --output is)
  --changed-since REV       report only findings in files changed since git revision REV (the whole
                            project is still analysed; in a repository with no commit yet, HEAD
                            means every file)
                            (flags override the configuration: [tool.stalecheck] in pyproject.toml)

Fixes:
  --fix                     apply the safe fixes and write the files; the findings left are reported
  --unsafe-fixes            with --fix or --diff, apply the unsafe fixes too (they may change behaviour;
                            \`stalecheck explain CODE\` says why for each)
  --diff                    print the fixes as a unified diff instead of writing them (exit 1 if any)

Resources:
  --max-file-size SIZE      skip (and report) files larger than SIZE (default: 5MB)
  --file-timeout SECONDS    skip (and report) a file whose extraction takes longer (0.1 to 3600;
                            default: 20)
  -j, --jobs N              worker threads that parse files, 1 to 64 (default: the number of cores)
  --cache-dir DIR           cache directory (default: .stalecheck-cache in the project root, where the
                            configuration or .git is); its entries are sealed with a key kept in
                            $STALECHECK_KEY_DIR, else $XDG_CACHE_HOME/stalecheck, else
                            ~/.cache/stalecheck. Refused: empty, the project, a folder of sources, a
                            link, a non-empty directory without stalecheck's CACHEDIR.TAG
  --no-cache                neither read nor write the cache
  -h, --help                show this help
  -V, --version             show the version

Colours: on a terminal only; FORCE_COLOR forces them, NO_COLOR turns them off.
Exit codes: 0 no findings at or above --fail-on, 1 findings, 2 usage, configuration or internal error,
or no file could be analysed (all unreadable, too large or over their time budget).
`;
