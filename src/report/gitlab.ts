/**
 * `--format gitlab`: a GitLab Code Quality report (`artifacts: reports: codequality:`), the
 * subset of the Code Climate format GitLab reads: a JSON array of issues with `description`,
 * `check_name`, `fingerprint`, `severity` (info, minor, major, critical, blocker) and
 * `location` (`path` relative to the repository root, `lines.begin`). Paths follow the one
 * rule (report/paths.ts): run stalecheck from the repository root, as CI jobs do.
 */
import type { Severity } from "../core/severity.js";
import type { ScanResult } from "../core/result.js";
import { pathShower } from "./paths.js";

export interface GitlabOptions {
  /** Directory paths are relative to: the repository root; default the scan's working directory. */
  baseDir?: string;
}

/** stalecheck's severities on GitLab's scale: critical is the top, `blocker`. */
const GITLAB_SEVERITY: Record<Severity, "minor" | "major" | "critical" | "blocker"> = { low: "minor", medium: "major", high: "critical", critical: "blocker" };

export function formatGitlab(result: ScanResult, options: GitlabOptions = {}): string {
  const shown = pathShower(result, options.baseDir);
  const issues = result.findings.map((f) => ({
    description: `${f.rule} ${f.name}: ${f.message} Fix: ${f.remediation}`,
    check_name: f.rule,
    // Unique within a report (twins are numbered) and line-independent, as GitLab compares reports by it.
    fingerprint: f.fingerprint,
    severity: GITLAB_SEVERITY[f.severity],
    location: { path: shown(f.file), lines: { begin: f.line, ...(f.endLine !== f.line ? { end: f.endLine } : {}) } },
  }));
  return `${JSON.stringify(issues, null, 2)}\n`;
}
