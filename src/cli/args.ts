/** Command-line parsing: a small, strict parser so that a typo is an error, not a silent default. */
import { globProblem } from "../config/fileFilters.js";
import { parseByteSize } from "../config/size.js";
import { nearest } from "../config/suggest.js";
import { SEVERITIES, type Severity } from "../core/severity.js";
import { MAX_FILE_TIMEOUT_MS, MAX_JOBS, MIN_FILE_TIMEOUT_MS } from "../run/scan.js";

export type Format = "text" | "json" | "sarif" | "github";
export const FORMATS: readonly Format[] = ["text", "json", "sarif", "github"];

/** `check`, and `endpoints`, which reads the project the same way and prints its routes instead. */
export interface CheckArgs {
  command: "check" | "endpoints";
  paths: string[];
  format: Format;
  output: string | null;
  select: string[] | undefined;
  ignore: string[] | undefined;
  exclude: string[];
  /** undefined: not given (the configuration or the default, low, decides). */
  failOn: Severity | undefined;
  includeNonRequest: boolean;
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

const VALUE_OPTIONS = new Set(["--format", "--output", "-o", "--select", "--ignore", "--exclude", "--fail-on", "--max-file-size", "--jobs", "-j", "--cache-dir", "--file-timeout", "--config", "--baseline", "--write-baseline", "--changed-since"]);
const FLAG_OPTIONS = new Set(["--include-non-request", "--no-cache", "--no-progress", "--help", "-h", "--version", "-V", "--fix", "--unsafe-fixes", "--diff"]);

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
  const format = one(values, "--format") ?? "text";
  if (!FORMATS.includes(format as Format)) throw new ArgsError(`--format must be one of ${FORMATS.join(", ")}, not "${format}"`);

  const [first, ...rest] = positionals;
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
    if (format !== "text" && format !== "json") throw new ArgsError(`\`stalecheck endpoints\` prints text or json, not "${format}"`);
    const findingsOnly = ["--fail-on", "--baseline", "--write-baseline", "--changed-since"].find((name) => values.has(name));
    if (findingsOnly) throw new ArgsError(`${findingsOnly} applies to \`stalecheck check\`, not to \`stalecheck endpoints\``);
  }
  fixOptionsProblem(command, format, flags, values);
  const failOn = one(values, "--fail-on");
  if (failOn !== undefined && !SEVERITIES.includes(failOn as Severity)) throw new ArgsError(`--fail-on must be one of ${SEVERITIES.join(", ")}, not "${failOn}"`);
  const size = one(values, "--max-file-size");
  return {
    command,
    paths,
    format: format as Format,
    output: one(values, "--output") ?? null,
    select: list(values, "--select"),
    ignore: list(values, "--ignore"),
    exclude: excludeGlobs(values),
    failOn: failOn as Severity | undefined,
    includeNonRequest: flags.has("--include-non-request"),
    maxFileBytes: size === undefined ? undefined : parseSize(size),
    jobs: optionalNumber(values, "--jobs", `a whole number of worker threads from 1 to ${MAX_JOBS}`, (n) => Number.isInteger(n) && n >= 1 && n <= MAX_JOBS),
    cacheDir: cacheDirectory(values, flags),
    fileTimeoutMs: secondsToMs(optionalNumber(values, "--file-timeout", `a number of seconds from ${MIN_FILE_TIMEOUT_MS / 1000} to ${MAX_FILE_TIMEOUT_MS / 1000}`, (n) => n * 1000 >= MIN_FILE_TIMEOUT_MS && n * 1000 <= MAX_FILE_TIMEOUT_MS)),
    config: one(values, "--config") ?? null,
    ...baselineFiles(values),
    changedSince: one(values, "--changed-since") ?? null,
    progress: !flags.has("--no-progress"),
    fix: flags.has("--fix"),
    unsafeFixes: flags.has("--unsafe-fixes"),
    diff: flags.has("--diff"),
  };
}

/** --fix, --unsafe-fixes and --diff belong to `check`, and not with a baseline being written. */
function fixOptionsProblem(command: string, format: string, flags: Set<string>, values: Map<string, string[]>): void {
  const given = ["--fix", "--unsafe-fixes", "--diff"].filter((f) => flags.has(f));
  if (given.length === 0) return;
  if (command === "endpoints") throw new ArgsError(`${given[0]} applies to \`stalecheck check\`, not to \`stalecheck endpoints\``);
  if (flags.has("--unsafe-fixes") && !flags.has("--fix") && !flags.has("--diff")) throw new ArgsError("--unsafe-fixes only applies with --fix or --diff");
  if (values.has("--write-baseline")) throw new ArgsError(`${given[0]} and --write-baseline cannot be used together (record the baseline after fixing)`);
  if (flags.has("--diff") && format !== "text") throw new ArgsError("--diff prints a unified diff; --format does not apply to it");
}

function optionalNumber(values: Map<string, string[]>, name: string, what: string, valid: (n: number) => boolean): number | undefined {
  const text = one(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || !valid(value)) throw new ArgsError(`${name} must be ${what}, not "${text}"`);
  return value;
}

/** --exclude globs, each usable: an empty one (an unset variable in a script) is a mistake, not "exclude nothing". */
function excludeGlobs(values: Map<string, string[]>): string[] {
  const globs = values.get("--exclude") ?? [];
  for (const glob of globs) {
    const problem = globProblem(glob, { configGlob: false });
    if (problem) throw new ArgsError(`--exclude "${glob.length > 80 ? `${glob.slice(0, 77)}...` : glob}": ${problem}`);
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
  stalecheck probe --target URL …  race-test a running app (stalecheck probe --help)
  stalecheck server                the language server, on stdin/stdout (README: "Editors")

Options for check:
  --format FORMAT           text, json, sarif (SARIF 2.1.0) or github (workflow annotations); default text
  -o, --output FILE         write the report to FILE instead of standard output (through a temporary
                            file and a rename; never a symbolic link, directory or device; a relative
                            FILE must stay inside the working directory)
  --select LIST             only these rules: codes, code prefixes (STC1) or names, comma separated
  --ignore LIST             skip these rules (same forms as --select)
  --fail-on SEVERITY        exit 1 only for findings at or above low|medium|high|critical (default: low)
                            (flags override the configuration: [tool.stalecheck] in pyproject.toml)
  --exclude GLOB            skip paths matching GLOB (relative to the scan root; not empty); repeatable;
                            replaces the configuration's exclude list
  --config FILE             read this configuration file instead of the nearest stalecheck.toml or
                            pyproject.toml [tool.stalecheck]
  --baseline FILE           do not report the findings recorded in FILE
  --write-baseline FILE     record every current finding in FILE and exit 0 (written as --output is)
  --changed-since REV       report only findings in files changed since git revision REV (the whole
                            project is still analysed)
  --fix                     apply the safe fixes and write the files; the findings left are reported
  --unsafe-fixes            with --fix or --diff, apply the unsafe fixes too (they may change behaviour;
                            \`stalecheck explain CODE\` says why for each)
  --diff                    print the fixes as a unified diff instead of writing them (exit 1 if any)
  --no-progress             no progress bar on stderr
  --include-non-request     also report in tests, migrations and management commands
  --max-file-size SIZE      skip (and report) files larger than SIZE (default: 5MB)
  --file-timeout SECONDS    skip (and report) a file whose extraction takes longer (0.1 to 3600;
                            default: 20)
  -j, --jobs N              worker threads that parse files, 1 to 64 (default: the number of cores)
  --cache-dir DIR           cache directory (default: .stalecheck-cache in the working directory); its
                            entries are sealed with a key kept in $STALECHECK_KEY_DIR, else
                            $XDG_CACHE_HOME/stalecheck, else ~/.cache/stalecheck. Refused: empty,
                            the project, a folder of sources, a link, a non-empty directory
                            without stalecheck's CACHEDIR.TAG
  --no-cache                neither read nor write the cache
  -h, --help                show this help
  -V, --version             show the version

Exit codes: 0 no findings at or above --fail-on, 1 findings, 2 usage, configuration or internal error,
or no file could be analysed (all unreadable, too large or over their time budget).
`;
