/**
 * The analyse stage: runs the selected rules over every function of the project and turns
 * their hits into findings with a file, a function and a line-independent fingerprint.
 */
import { createHash } from "node:crypto";
import type { Project } from "../project/buildProject.js";
import { buildFunctionModels } from "./functionModel.js";
import type { Confidence, Rule, Severity, UseKind } from "./types.js";

export interface SiteRef {
  line: number;
  text: string;
  kind: string;
}

export interface Finding {
  rule: string;
  name: string;
  severity: Severity;
  confidence: Confidence;
  file: string;
  function: string;
  line: number;
  column: number;
  endLine: number;
  check: SiteRef | null;
  use: SiteRef & { kind: UseKind };
  lock?: { line: number; text: string };
  transaction?: { line: number; text: string };
  basicAuth: boolean;
  route: string | null;
  message: string;
  remediation: string;
  fingerprint: string;
}

export interface AnalyseOptions {
  rules: readonly Rule[];
  /** Also report in tests, migrations and management commands. */
  includeNonRequest: boolean;
}

export function analyse(project: Project, options: AnalyseOptions): Finding[] {
  const findings: Omit<Finding, "fingerprint">[] = [];
  for (const file of project.files) {
    if (!file.requestCode && !options.includeNonRequest) continue;
    for (const model of buildFunctionModels(file, project)) {
      for (const rule of options.rules) {
        for (const hit of rule.check(model, project)) {
          const finding: Omit<Finding, "fingerprint"> = {
            rule: rule.meta.code,
            name: rule.meta.name,
            severity: hit.severity,
            confidence: hit.confidence,
            file: file.path,
            function: model.fn.name,
            line: hit.use.site.line,
            column: hit.use.site.column,
            endLine: hit.use.site.endLine,
            check: hit.check ? { line: hit.check.site.line, text: hit.check.site.text, kind: hit.check.kind } : null,
            use: { line: hit.use.site.line, text: hit.use.site.text, kind: hit.use.kind },
            basicAuth: false,
            route: null,
            message: hit.message,
            remediation: hit.remediation,
          };
          if (hit.lock) finding.lock = { line: hit.lock.line, text: hit.lock.text };
          if (hit.transaction) finding.transaction = { line: hit.transaction.line, text: hit.transaction.text };
          findings.push(finding);
        }
      }
    }
  }
  findings.sort(compareFindings);
  return fingerprint(findings);
}

export function compareFindings(a: Omit<Finding, "fingerprint">, b: Omit<Finding, "fingerprint">): number {
  return (
    compareText(a.file, b.file) || a.line - b.line || compareText(a.rule, b.rule) || a.column - b.column ||
    compareText(a.function, b.function) || (a.check?.line ?? 0) - (b.check?.line ?? 0) || compareText(a.message, b.message)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Fingerprints survive line shifts: they hash the rule, file, function and the whitespace-
 * normalised text of the check and use lines, plus an occurrence number for identical twins.
 */
function fingerprint(findings: Omit<Finding, "fingerprint">[]): Finding[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const key = [f.rule, f.file, f.function, normalise(f.check?.text ?? ""), normalise(f.use.text)].join("\u0000");
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    const hash = createHash("sha256").update(`${key}\u0000${occurrence}`).digest("hex").slice(0, 16);
    return { ...f, fingerprint: hash };
  });
}

function normalise(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
