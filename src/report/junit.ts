/**
 * `--format junit`: JUnit XML, which CI systems (GitLab `artifacts: reports: junit:`, Jenkins,
 * Azure Pipelines, CircleCI) show as a test report: one failing test case per finding, one
 * test case in error per file that could not be scanned, and one passing test case when there
 * is neither, so that the report is never empty. Paths follow the one rule (report/paths.ts).
 */
import type { ScanResult } from "../core/result.js";
import { escapeControl } from "./escape.js";
import { pathShower } from "./paths.js";

export interface JunitOptions {
  /** Directory paths are relative to; default the scan's working directory. */
  baseDir?: string;
}

export function formatJunit(result: ScanResult, options: JunitOptions = {}): string {
  const shown = pathShower(result, options.baseDir);
  const cases: string[] = [];
  for (const f of result.findings) {
    const path = shown(f.file);
    const details = [
      `${path}:${f.line}:${f.column}: ${f.rule} ${f.severity} ${f.name} in ${f.function} (confidence: ${f.confidence})`,
      f.check ? `check: ${f.check.file ? `${shown(f.check.file)} ` : ""}line ${f.check.line}: ${f.check.text}` : null,
      `use: line ${f.use.line}: ${f.use.text}`,
      f.message,
      `fix: ${f.remediation}`,
    ].filter((x): x is string => x !== null);
    cases.push(
      `    <testcase name="${attr(`${f.rule} ${f.name} at line ${f.line} in ${f.function}`)}" classname="${attr(path)}" file="${attr(path)}" line="${f.line}">\n` +
      `      <failure message="${attr(f.message)}" type="${attr(`${f.rule} ${f.severity}`)}">${text(details)}</failure>\n` +
      "    </testcase>",
    );
  }
  for (const e of result.errors) {
    const path = shown(e.file);
    cases.push(
      `    <testcase name="${attr(`stalecheck could not scan ${path}${e.line !== undefined ? ` (line ${e.line})` : ""}`)}" classname="${attr(path)}" file="${attr(path)}"${e.line !== undefined ? ` line="${e.line}"` : ""}>\n` +
      `      <error message="${attr(e.message)}" type="scan-error"/>\n` +
      "    </testcase>",
    );
  }
  if (cases.length === 0) {
    const files = `${result.summary.files} ${result.summary.files === 1 ? "file" : "files"}`;
    cases.push(`    <testcase name="${attr(`no findings in ${files}`)}" classname="stalecheck"/>`);
  }
  const failures = result.findings.length;
  const errors = result.errors.length;
  const tests = Math.max(1, failures + errors);
  const time = (result.summary.durationMs / 1000).toFixed(3);
  const counts = `tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="${time}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="stalecheck" ${counts}>`,
    `  <testsuite name="stalecheck" ${counts}>`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

/**
 * Text XML 1.0 can hold: control characters shown as escapes (`\x1b`, as in every report), and
 * what XML cannot carry at all (lone surrogates, U+FFFE, U+FFFF) as U+FFFD.
 */
function xmlSafe(value: string): string {
  return escapeControl(value).replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|[\ufffe\uffff]/g, "\ufffd");
}

/** Lines of element text, each made safe, joined by line breaks. */
function text(lines: readonly string[]): string {
  return lines.map((line) => xmlSafe(line).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")).join("\n");
}

function attr(value: string): string {
  return xmlSafe(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}
