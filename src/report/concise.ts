/**
 * `--format concise`: one line per finding, `path:line:column: CODE [severity] message`, as
 * Ruff's concise output, for terminals, editors' problem matchers and grep. Paths follow the
 * one rule (report/paths.ts); text from the scanned tree is escaped.
 */
import type { ScanResult } from "../core/result.js";
import { escapeControl as esc } from "./escape.js";
import { pathShower } from "./paths.js";
import { plainSummaryLine } from "./text.js";

export interface ConciseOptions {
  /** Directory paths are shown relative to; default the scan's working directory. */
  baseDir?: string;
  /** Leave out the summary line (`--quiet`). */
  quiet?: boolean;
}

export function formatConcise(result: ScanResult, options: ConciseOptions = {}): string {
  const shown = pathShower(result, options.baseDir);
  const lines = result.findings.map((f) => `${esc(shown(f.file))}:${f.line}:${f.column}: ${f.rule} [${f.severity}] ${esc(f.message)}`);
  for (const e of result.errors) lines.push(`${esc(shown(e.file))}:${e.line ?? 1}:1: error: ${esc(e.message)}`);
  if (!options.quiet) lines.push(plainSummaryLine(result));
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}
