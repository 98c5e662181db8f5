import type { Finding } from "../core/finding.js";
import { SEVERITIES } from "../core/severity.js";
import type { ScanResult } from "../core/result.js";
import { escapeControl as esc } from "./escape.js";
import { pathShower } from "./paths.js";

export interface TextOptions {
  color: boolean;
  /** Directory paths are shown relative to (see report/paths.ts); default the scan's working directory. */
  baseDir?: string;
  /** Leave out the summary line (`--quiet`). */
  quiet?: boolean;
}

const STYLES = { bold: [1, 22], dim: [2, 22], red: [31, 39], yellow: [33, 39], magenta: [35, 39], cyan: [36, 39], blue: [34, 39] } as const;
type Style = keyof typeof STYLES;

const SEVERITY_STYLE: Record<string, Style> = { critical: "magenta", high: "red", medium: "yellow", low: "blue" };

/**
 * Human-readable report: one block per finding, then errors, then a summary. Everything that
 * comes from the scanned tree (paths, names, source lines, messages quoting code) is escaped.
 */
export function formatText(result: ScanResult, options: TextOptions): string {
  const paint = (style: Style, text: string) => (options.color ? `\u001b[${STYLES[style][0]}m${text}\u001b[${STYLES[style][1]}m` : text);
  const shown = pathShower(result, options.baseDir);
  const lines: string[] = [];
  for (const f of result.findings) {
    lines.push(
      `${paint("bold", `${esc(shown(f.file))}:${f.line}:${f.column}`)} ${paint("bold", f.rule)} ${paint(SEVERITY_STYLE[f.severity] ?? "bold", f.severity)} ${f.name} ${paint("dim", `in ${esc(f.function)} (confidence: ${f.confidence})`)}`,
    );
    lines.push(...frame(f, paint, shown));
    lines.push(`  ${esc(f.message)}`);
    lines.push(`  ${paint("cyan", "fix:")} ${esc(f.remediation)}`);
    lines.push("");
  }
  for (const e of result.errors) {
    lines.push(`${paint("bold", e.line === undefined ? esc(shown(e.file)) : `${esc(shown(e.file))}:${e.line}`)} ${paint("yellow", "error")} ${esc(e.message)}`);
  }
  if (options.quiet) {
    while (lines.at(-1) === "") lines.pop();
    return lines.length > 0 ? `${lines.join("\n")}\n` : "";
  }
  if (result.errors.length > 0) lines.push("");
  lines.push(summaryLine(result, paint));
  return `${lines.join("\n")}\n`;
}

function frame(f: Finding, paint: (style: Style, text: string) => string, shown: (file: string) => string): string[] {
  const rows: [number, string, string][] = [];
  // A check in another file (a DRF permission class) is shown with its location, first.
  if (f.check && f.check.file) rows.push([0, "check", `${esc(shown(f.check.file))}:${f.check.line}: ${esc(f.check.text)}`]);
  else if (f.check) rows.push([f.check.line, "check", esc(f.check.text)]);
  if (f.transaction) rows.push([f.transaction.line, "atomic", esc(f.transaction.text)]);
  if (f.lock) rows.push([f.lock.line, "lock", esc(f.lock.text)]);
  rows.push([f.use.line, f.use.kind === "lock" ? "lock" : f.use.kind === "suppression" ? "noqa" : "use", esc(f.use.text)]);
  // The other uses the same check guards in this function.
  for (const use of f.uses) if (use.line !== f.use.line || use.kind !== f.use.kind) rows.push([use.line, "use", esc(use.text)]);
  rows.sort((a, b) => a[0] - b[0]);
  const width = String(Math.max(...rows.map((r) => r[0]))).length;
  const out = rows.map(([line, label, text]) => `  ${paint("dim", `${(line === 0 ? "" : String(line)).padStart(width)} |`)} ${label.padEnd(6)} ${text}`);
  if (f.check && f.window) {
    // What lies between check and use, summarised just above the use row.
    const between = f.use.line - f.check.line - 1;
    const at = rows.findIndex(([line, label, text]) => line === f.use.line && label !== "check" && text === esc(f.use.text));
    out.splice(at, 0, `  ${paint("dim", `${"⋮".padStart(width)} |`)} ${"".padEnd(6)} ${paint("dim", `${between} ${between === 1 ? "line" : "lines"} between: ${esc(f.window)}`)}`);
  }
  return out;
}

/** The closing line of a text report, without colours. */
export function plainSummaryLine(result: ScanResult): string {
  return summaryLine(result, (_style, text) => text);
}

function summaryLine(result: ScanResult, paint: (style: Style, text: string) => string): string {
  const { summary } = result;
  const files = `${summary.files} ${summary.files === 1 ? "file" : "files"}`;
  const errors = summary.errors > 0 ? `, ${summary.errors} ${summary.errors === 1 ? "error" : "errors"}` : "";
  const covered = result.baselined ? ` (${result.baselined} more covered by the baseline)` : "";
  if (summary.findings === 0) return `No findings in ${files}${errors}${covered}.`;
  const bySeverity = [...SEVERITIES].reverse()
    .map((s) => [s, result.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ");
  const byRule = [...new Set(result.findings.map((f) => f.rule))].sort()
    .map((r) => `${r} ×${result.findings.filter((f) => f.rule === r).length}`)
    .join(", ");
  return paint("bold", `Found ${summary.findings} ${summary.findings === 1 ? "finding" : "findings"} (${bySeverity}; ${byRule}) in ${files}${errors}${covered}.`);
}
