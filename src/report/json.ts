import type { Finding } from "../core/finding.js";
import type { ScanResult } from "../core/result.js";
import { shownPath } from "./paths.js";

/**
 * The JSON contract of DESIGN.md §4, with a fixed key order. See schema/stalecheck-output.schema.json.
 * `root` is the scan root as reports show paths (relative to the working directory, or absolute
 * outside it); each finding's `file` is relative to it.
 */
export function formatJson(result: ScanResult): string {
  const out = {
    version: result.version,
    tool: result.tool,
    root: shownPath(result.cwd ?? result.root, result.root),
    summary: result.summary,
    findings: result.findings.map(orderFinding),
    errors: result.errors.map((e) => (e.line === undefined ? { file: e.file, message: e.message } : { file: e.file, line: e.line, message: e.message })),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

function orderFinding(f: Finding): Record<string, unknown> {
  const out: Record<string, unknown> = {
    rule: f.rule, name: f.name, severity: f.severity, confidence: f.confidence, file: f.file, function: f.function,
    line: f.line, column: f.column, endLine: f.endLine, check: f.check, use: f.use, uses: f.uses,
  };
  if (f.race) out.race = f.race;
  if (f.lock) out.lock = f.lock;
  if (f.transaction) out.transaction = f.transaction;
  Object.assign(out, { basicAuth: f.basicAuth, route: f.route, message: f.message, remediation: f.remediation, fingerprint: f.fingerprint });
  return out;
}
