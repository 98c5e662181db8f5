/**
 * GitHub Actions workflow commands: one annotation per finding (`::error file=…,line=…::…`),
 * shown on the pull request's diff. Errors of the scan become warnings on their files.
 * The runner reads one command per line: line breaks in the data are written %0A and %0D (as
 * @actions/core does), so none can end the annotation and start a command of its own, and
 * the other control characters of text from the scanned tree are escaped (the log viewer
 * would interpret ANSI sequences); in file names, line breaks too.
 */
import type { Finding } from "../core/finding.js";
import type { Severity } from "../core/severity.js";
import type { ScanResult } from "../core/result.js";
import { escapeControl as esc, escapeControlKeepingLines } from "./escape.js";
import { pathShower } from "./paths.js";

export interface GithubOptions {
  /** Directory annotation paths are relative to: the repository root (the workflow's working directory). Default: the scan's working directory. */
  baseDir?: string;
}

const COMMAND: Record<Severity, "error" | "warning" | "notice"> = { critical: "error", high: "error", medium: "warning", low: "notice" };

export function formatGithub(result: ScanResult, options: GithubOptions = {}): string {
  const shown = pathShower(result, options.baseDir);
  const path = (file: string) => esc(shown(file));
  const lines = result.findings.map((f) => annotation(f, path(f.file), shown));
  for (const e of result.errors) {
    lines.push(`::warning ${properties({ file: path(e.file), ...(e.line !== undefined ? { line: String(e.line) } : {}), title: "stalecheck could not scan this" })}::${data(escapeControlKeepingLines(e.message))}`);
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

function annotation(f: Finding, file: string, shown: (file: string) => string): string {
  const props: Record<string, string> = { file, line: String(f.line), endLine: String(f.endLine) };
  if (f.line === f.endLine) props.col = String(f.column);
  props.title = `${f.rule} ${f.name} (${f.severity})`;
  const related = [
    f.check ? `check: ${f.check.file ? `${shown(f.check.file)} ` : ""}line ${f.check.line}: ${f.check.text}` : null,
    f.lock ? `lock: line ${f.lock.line}: ${f.lock.text}` : null,
    f.transaction ? `transaction: line ${f.transaction.line}: ${f.transaction.text}` : null,
  ].filter((x): x is string => x !== null);
  const body = [f.message, ...related, `fix: ${f.remediation}`].map(escapeControlKeepingLines).join("\n");
  return `::${COMMAND[f.severity]} ${properties(props)}::${data(body)}`;
}

function properties(props: Record<string, string>): string {
  return Object.entries(props).map(([k, v]) => `${k}=${property(v)}`).join(",");
}

/** Escaping of workflow-command data, as @actions/core does it. */
function data(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function property(text: string): string {
  return data(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}
