/**
 * The analyse stage: runs the selected rules over every function of the project and turns
 * their hits into findings with a file, a function and a line-independent fingerprint.
 */
import { createHash } from "node:crypto";
import type { FileFacts, FunctionFacts } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import type { Endpoint } from "../project/routes.js";
import { buildFunctionModels, callersOf } from "./functionModel.js";
import { applySuppressions } from "./suppressions.js";
import type { Confidence, Rule, Severity, UseKind } from "./types.js";
import { windowBetween } from "./window.js";

export interface SiteRef {
  line: number;
  text: string;
  kind: string;
  /** Only when the check is in another file than the finding. */
  file?: string;
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
  /** What runs between the check and the use ("2 calls, a loop"), when lines lie between them. Not part of the JSON output. */
  window?: string;
}

export interface AnalyseOptions {
  rules: readonly Rule[];
  /** Also report in tests, migrations and management commands. */
  includeNonRequest: boolean;
  /** Names of functions the configuration declares authorization checks. */
  checkHelpers?: readonly string[];
}

export function analyse(project: Project, options: AnalyseOptions): Finding[] {
  const findings: Omit<Finding, "fingerprint">[] = [];
  const reach = endpointReach(project);
  const checkHelpers = new Set(options.checkHelpers ?? []);
  const analysed: FileFacts[] = [];
  for (const file of project.files) {
    if (!file.requestCode && !options.includeNonRequest) continue;
    for (const model of buildFunctionModels(file, project, checkHelpers)) {
      const endpoints = reach(file, model.fn);
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
            check: hit.check
              ? { line: hit.check.site.line, text: hit.check.site.text, kind: hit.check.kind, ...(hit.check.file && hit.check.file !== file.path ? { file: hit.check.file } : {}) }
              : null,
            use: { line: hit.use.site.line, text: hit.use.site.text, kind: hit.use.kind },
            basicAuth: endpoints.some((e) => e.basicAuth),
            route: endpoints[0]?.route ?? null,
            message: hit.message,
            remediation: hit.remediation,
          };
          if (finding.basicAuth && finding.severity === "high" && hit.use.kind !== "disclose") {
            // A write behind Basic Auth: any stolen or scripted credential can hammer the window.
            finding.severity = "critical";
          }
          if (hit.lock) finding.lock = { line: hit.lock.line, text: hit.lock.text };
          if (hit.transaction) finding.transaction = { line: hit.transaction.line, text: hit.transaction.text };
          const sameFileCheck = hit.check && (!hit.check.file || hit.check.file === file.path);
          const window = sameFileCheck ? windowBetween(model, hit.check!.site.line, hit.use.site.line) : null;
          if (window) finding.window = window;
          findings.push(finding);
        }
      }
    }
    analysed.push(file);
  }
  const kept = applySuppressions(analysed, findings, options.rules);
  kept.sort(compareFindings);
  return fingerprint(kept);
}

/**
 * The endpoints that run a function: its own routes (a view, a handler method), those of its
 * class (perform_update, helpers of a routed view), or those of its callers, a few levels up.
 */
function endpointReach(project: Project): (file: FileFacts, fn: FunctionFacts) => Endpoint[] {
  const byHandler = new Map<string, Endpoint[]>();
  const byClass = new Map<string, Endpoint[]>();
  const add = (map: Map<string, Endpoint[]>, key: string, endpoint: Endpoint) => {
    const list = map.get(key) ?? [];
    if (!list.includes(endpoint)) list.push(endpoint);
    map.set(key, list);
  };
  for (const endpoint of project.endpoints) {
    for (const handler of endpoint.handlers) add(byHandler, `${handler.file}\u0000${handler.function}`, endpoint);
    if (endpoint.viewClass) add(byClass, `${endpoint.viewClass.file}\u0000${endpoint.viewClass.name}`, endpoint);
  }
  const callers = callersOf(project);
  // A handler's own routes; otherwise every route of its class (perform_update, helpers).
  const direct = (file: FileFacts, fn: FunctionFacts): Endpoint[] =>
    byHandler.get(`${file.path}\u0000${fn.name}`) ?? (fn.className ? byClass.get(`${file.path}\u0000${fn.className}`) ?? [] : []);
  return (file, fn) => {
    const seen = new Set<string>();
    let frontier = [{ file, fn }];
    for (let depth = 0; depth < 4 && frontier.length > 0; depth++) {
      const found = [...new Set(frontier.flatMap((f) => direct(f.file, f.fn)))];
      if (found.length > 0) return found.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
      const next: { file: FileFacts; fn: FunctionFacts }[] = [];
      for (const f of frontier) {
        const key = `${f.file.path}\u0000${f.fn.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        for (const site of callers.get(key) ?? []) next.push({ file: site.file, fn: site.caller });
      }
      frontier = next;
    }
    return [];
  };
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
    const key = identityKey(f);
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    const hash = createHash("sha256").update(`${key}\u0000${occurrence}`).digest("hex").slice(0, 16);
    return { ...f, fingerprint: hash };
  });
}

/** What stays the same across edits that only move a finding: all of it but line numbers. Twins share it. */
export function identityKey(f: Pick<Finding, "rule" | "file" | "function" | "check" | "use">): string {
  return [f.rule, f.file, f.function, normalise(f.check?.text ?? ""), normalise(f.use.text)].join("\u0000");
}

function normalise(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
