/**
 * The analysis engine: builds the function models, runs the selected rules' hooks over them,
 * and turns hits into findings: file, function, route and Basic Auth reach, severity
 * escalation, the window for code frames, suppressions, report order and fingerprints.
 */
import type { Endpoint } from "../core/endpoint.js";
import { type DraftFinding, type Finding, compareFindings } from "../core/finding.js";
import { fingerprint } from "../core/fingerprint.js";
import type { FileFacts } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { buildFunctionModels } from "./functionModels.js";
import type { FunctionModel } from "./model.js";
import type { AnalysisContext, Rule, RuleHit } from "./rule.js";
import { type RuleLookup, applySuppressions } from "./suppressions.js";
import { windowBetween } from "./window.js";

export interface AnalyseOptions {
  rules: readonly Rule[];
  /** Every rule by code or name, selected or not: suppression comments may name any of them. */
  findRule: RuleLookup;
  /** Also report in tests, migrations and management commands. */
  includeNonRequest: boolean;
}

export function analyse(project: Project, options: AnalyseOptions): Finding[] {
  const built = new Map<FileFacts, FunctionModel[]>();
  const modelsOf = (file: FileFacts): FunctionModel[] => {
    let models = built.get(file);
    if (!models) built.set(file, (models = buildFunctionModels(project, file)));
    return models;
  };
  const analysed = project.files.filter((file) => file.requestCode || options.includeNonRequest);
  const context: AnalysisContext = { project, models: analysed.flatMap(modelsOf), modelsOf };
  const findings: DraftFinding[] = [];
  for (const model of context.models) {
    const endpoints = project.reach.endpointsOf(model.file, model.fn);
    for (const rule of options.rules) {
      for (const hit of rule.checkFunction?.(model, context) ?? []) findings.push(toFinding(rule, model, hit, endpoints));
    }
  }
  const reported = new Set(analysed);
  for (const rule of options.rules) {
    for (const { model, hit } of rule.checkProject?.(context) ?? []) {
      if (reported.has(model.file)) findings.push(toFinding(rule, model, hit, project.reach.endpointsOf(model.file, model.fn)));
    }
  }
  const kept = applySuppressions(analysed, findings, options.rules, options.findRule);
  kept.sort(compareFindings);
  return fingerprint(kept);
}

function toFinding(rule: Rule, model: FunctionModel, hit: RuleHit, endpoints: readonly Endpoint[]): DraftFinding {
  const file = model.file;
  const finding: DraftFinding = {
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
  return finding;
}
