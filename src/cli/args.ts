/** Command-line parsing: a small, strict parser so that a typo is an error, not a silent default. */
import { SEVERITIES, type Severity } from "../rules/types.js";

export type Format = "text" | "json";
export const FORMATS: readonly Format[] = ["text", "json"];

export interface CheckArgs {
  command: "check";
  paths: string[];
  format: Format;
  output: string | null;
  select: string[] | undefined;
  ignore: string[] | undefined;
  exclude: string[];
  failOn: Severity;
  includeNonRequest: boolean;
  maxFileBytes: number | undefined;
}

export type ParsedArgs =
  | CheckArgs
  | { command: "rules"; format: Format }
  | { command: "explain"; rule: string }
  | { command: "help" }
  | { command: "version" };

export class ArgsError extends Error {}

const VALUE_OPTIONS = new Set(["--format", "--output", "-o", "--select", "--ignore", "--exclude", "--fail-on", "--max-file-size"]);
const FLAG_OPTIONS = new Set(["--include-non-request", "--help", "-h", "--version", "-V"]);

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
        const key = name === "-o" ? "--output" : name;
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
  const paths = first === "check" ? rest : positionals;
  const failOn = one(values, "--fail-on") ?? "low";
  if (!SEVERITIES.includes(failOn as Severity)) throw new ArgsError(`--fail-on must be one of ${SEVERITIES.join(", ")}, not "${failOn}"`);
  const size = one(values, "--max-file-size");
  return {
    command: "check",
    paths,
    format: format as Format,
    output: one(values, "--output") ?? null,
    select: list(values, "--select"),
    ignore: list(values, "--ignore"),
    exclude: values.get("--exclude") ?? [],
    failOn: failOn as Severity,
    includeNonRequest: flags.has("--include-non-request"),
    maxFileBytes: size === undefined ? undefined : parseSize(size),
  };
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

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
  if (!match) throw new ArgsError(`--max-file-size must be a size such as 5MB or 500KB, not "${text}"`);
  const unit = (match[2] ?? "b").toLowerCase();
  const factor = unit.startsWith("m") ? 1024 * 1024 : unit.startsWith("k") ? 1024 : 1;
  return Math.round(Number(match[1]) * factor);
}

function suggest(name: string): string {
  const known = [...VALUE_OPTIONS, ...FLAG_OPTIONS].filter((o) => o.startsWith("--"));
  let best: string | null = null;
  let bestDistance = 3;
  for (const option of known) {
    const d = distance(name, option);
    if (d < bestDistance) {
      best = option;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean ${best}?)` : "";
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

export const HELP = `stalecheck — find authorization time-of-check/time-of-use races in Django and DRF code

Usage:
  stalecheck [check] [PATH...]     scan files and directories (default: .)
  stalecheck rules [--format json] list the rules
  stalecheck explain CODE|NAME     print a rule's documentation

Options for check:
  --format text|json        output format (default: text)
  -o, --output FILE         write the report to FILE instead of standard output
  --select LIST             only these rules: codes, code prefixes (STC1) or names, comma separated
  --ignore LIST             skip these rules (same forms as --select)
  --fail-on SEVERITY        exit 1 only for findings at or above low|medium|high|critical (default: low)
  --exclude GLOB            skip paths matching GLOB (relative to the scan root); repeatable
  --include-non-request     also report in tests, migrations and management commands
  --max-file-size SIZE      skip (and report) files larger than SIZE (default: 5MB)
  -h, --help                show this help
  -V, --version             show the version

Exit codes: 0 no findings at or above --fail-on, 1 findings, 2 usage, configuration or internal error.
`;
