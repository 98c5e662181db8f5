/** The whole pipeline: discover → parse → extract → index → analyse. Touches no process state. */
import { basename } from "node:path";
import { discover } from "./discover/discover.js";
import { readSource } from "./discover/readSource.js";
import { extractFileFacts } from "./extract/extractFileFacts.js";
import type { FileFacts } from "./extract/facts.js";
import { buildProject, type Project } from "./project/buildProject.js";
import { type Finding, analyse } from "./rules/analyse.js";
import { selectRules } from "./rules/registry.js";
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
}

export class UsageError extends Error {}

export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;

export async function scan(options: ScanOptions = {}): Promise<ScanResult> {
  const started = performance.now();
  const { rules, unknown } = selectRules(options.select, options.ignore);
  if (unknown.length > 0) throw new UsageError(`unknown rule selector: ${unknown.join(", ")} (see \`stalecheck rules\`)`);
  const found = discover({ cwd: options.cwd ?? process.cwd(), paths: options.paths ?? [], exclude: options.exclude ?? [] });
  const errors: ScanError[] = [...found.errors];
  const facts: FileFacts[] = [];
  let done = 0;
  for (const file of found.files) {
    const source = readSource(file.absolute, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    if (!source.ok) {
      errors.push({ file: file.path, message: source.reason });
    } else {
      try {
        const extracted = await extractFileFacts(file.path, source.text, { transactionNames: options.transactionNames ?? [] });
        for (const problem of extracted.problems) errors.push({ file: file.path, line: problem.line, message: problem.message });
        facts.push(extracted);
      } catch (error) {
        errors.push({ file: file.path, message: `internal error while reading this file, skipped: ${(error as Error).message}` });
      }
    }
    options.onFile?.(++done, found.files.length);
  }
  const project: Project = buildProject(facts, { rootName: basename(found.root) });
  const findings = analyse(project, { rules, includeNonRequest: options.includeNonRequest ?? false });
  errors.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0)));
  return {
    version: 1,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    summary: {
      files: found.files.length,
      functions: facts.reduce((n, f) => n + f.functions.length, 0),
      findings: findings.length,
      errors: errors.length,
      durationMs: Math.round(performance.now() - started),
    },
    findings,
    errors,
    root: found.root,
  };
}

/** Findings at or above a severity threshold. */
export function atOrAbove(findings: readonly Finding[], threshold: Severity): Finding[] {
  const min = SEVERITIES.indexOf(threshold);
  return findings.filter((f) => SEVERITIES.indexOf(f.severity) >= min);
}
