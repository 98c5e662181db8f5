/**
 * The analysis engine: builds the function models, runs the selected rules' hooks over them,
 * and turns hits into findings. It decides which races are reported (DESIGN.md §1: `self` and
 * `cross-path` always, `revocation` only with a wide window or under --strict, `none` never),
 * groups the hits of one check in one function into one finding that lists every use, and
 * adds the route and Basic Auth reach, severity, the window for code frames, suppressions,
 * report order and fingerprints.
 */
import type { Endpoint } from "../core/endpoint.js";
import { type DraftFinding, type Finding, type SiteRef, type UseKind, compareFindings } from "../core/finding.js";
import { fingerprint } from "../core/fingerprint.js";
import type { FunctionFacts } from "../extract/facts.js";
import { SEVERITIES, type Severity } from "../core/severity.js";
import type { Project } from "../project/buildProject.js";
import { isTestCode } from "../project/writeIndex.js";
import { buildFunctionModels } from "./functionModels.js";
import type { FunctionModel } from "./model.js";
import type { AnalysisContext, Rule, RuleHit } from "./rule.js";
import { type RuleLookup, applySuppressions } from "./suppressions.js";
import { slowWork, windowBetween } from "./window.js";

export interface AnalyseOptions {
  rules: readonly Rule[];
  /** Every rule by code or name, selected or not: suppression comments may name any of them. */
  findRule: RuleLookup;
  /** Also report in tests, migrations and management commands. */
  includeNonRequest: boolean;
  /** Also report races only privileged actors can cause when the window is narrow. */
  strict?: boolean;
}

interface Hit {
  rule: Rule;
  model: FunctionModel;
  hit: RuleHit;
  wide: boolean;
}

export function analyse(project: Project, options: AnalyseOptions): Finding[] {
  const context: AnalysisContext = { project, modelsOf: (file) => buildFunctionModels(project, file) };
  const analysed = project.files.filter((file) => file.requestCode || options.includeNonRequest);
  const checks = options.rules.flatMap((rule) => [
    ...(rule.checkFunction ? [{ rule, check: (model: FunctionModel) => rule.checkFunction!(model, context) }] : []),
    ...(rule.checkProject ? [{ rule, check: rule.checkProject(context) }] : []),
  ]);
  const findings: DraftFinding[] = [];
  const afterMigrations = migrateReceivers(project);
  let requestCallees: Set<string> | null = null;
  // Built once, on first need: the last name of every call made from request code.
  const calledFromRequests = () => (requestCallees ??= new Set(project.files.filter((f) => f.requestCode).flatMap((f) =>
    f.functions.flatMap((g) => g.events.flatMap((e) => (e.type === "call" ? [e.callee.split(".").pop()!] : []))))));
  // One file's models at a time: a project's worth of models at once costs tens of MB.
  for (const file of analysed) {
    const hits: Hit[] = [];
    for (const model of buildFunctionModels(project, file)) {
      if (!options.includeNonRequest && (afterMigrations.has(model.fn) || calledOnlyOutsideRequests(project, model, calledFromRequests))) continue;
      for (const { rule, check } of checks) {
        for (const hit of check(model)) {
          const wide = isWide(model, hit);
          if (reported(hit, wide, options.strict ?? false)) hits.push({ rule, model, hit, wide });
        }
      }
    }
    const fileFindings = groupByCheck(hits).map((group) => {
      const fn = group[0]!.model.fn;
      return toFinding(group, project.reach.endpointsOf(file, fn), project.basicAuthCode.has(fn));
    });
    findings.push(...onePerUse(fileFindings));
  }
  const kept = applySuppressions(analysed, findings, options.rules, options.findRule);
  kept.sort(compareFindings);
  return fingerprint(kept);
}

/** Receivers of `post_migrate`/`pre_migrate` (connected, or decorated `@receiver(post_migrate)`): they run after `migrate`, not in a request. */
function migrateReceivers(project: Project): Set<FunctionFacts> {
  const out = new Set<FunctionFacts>();
  for (const file of project.files) {
    for (const fn of file.functions) {
      if (fn.decorators.some((d) => /^receiver\(\s*([\w.]+\.)?(pre|post)_migrate\s*[,)]/.test(d))) out.add(fn);
      for (const name of fn.migrateReceivers ?? []) {
        const target = project.calls.calleeOf(file, fn, name);
        if (target) out.add(target.fn);
      }
    }
  }
  return out;
}

/**
 * A module-level helper of request code that only management commands, migrations or scripts
 * call (tests aside), with no route of its own: it serves no request either. A helper no command
 * calls may be a signal receiver or a callback, which calls do not show, and stays analysed; so
 * does one whose name request code calls without the call resolving (a method, an alias).
 */
function calledOnlyOutsideRequests(project: Project, model: FunctionModel, calledFromRequests: () => Set<string>): boolean {
  const { file, fn } = model;
  if (fn.className !== null || fn.name.includes(".") || fn.viewLike || project.reach.endpointsOf(file, fn).length > 0) return false;
  const callers = project.calls.callersOf(file, fn);
  if (!callers.some((c) => !isTestCode(c.file.path)) || callers.some((c) => c.file.requestCode)) return false;
  // A call from request code by this name, even one not traced to this function, may reach it.
  return !calledFromRequests().has(fn.name);
}

/**
 * Two checks of one function that a rule pairs with the same use (an earlier guard and a later
 * one before `obj.save()`) are one race to the reader: keep the check nearest the use.
 */
function onePerUse(findings: DraftFinding[]): DraftFinding[] {
  const nearest = new Map<string, DraftFinding>();
  for (const f of findings) {
    const key = `${f.function}\u0000${f.rule}\u0000${f.line}\u0000${f.column}`;
    const kept = nearest.get(key);
    if (!kept || (f.check?.line ?? 0) > (kept.check?.line ?? 0)) nearest.set(key, f);
  }
  return findings.filter((f) => nearest.get(`${f.function}\u0000${f.rule}\u0000${f.line}\u0000${f.column}`) === f);
}

/** A race is reported when someone can change the checked state in the window (DESIGN.md §1). */
function reported(hit: RuleHit, wide: boolean, strict: boolean): boolean {
  if (!hit.race) return true;
  if (hit.race.kind === "none") return false;
  return hit.race.kind !== "revocation" || wide || strict;
}

/**
 * A wide window: the decision is acted on later (a queued task, a later request) or slow work
 * runs between check and use (network or file I/O, sleeps, calls into services, loops of queries).
 */
function isWide(model: FunctionModel, hit: RuleHit): boolean {
  if (hit.window === "deferred" || hit.use.kind === "enqueue") return true;
  return hit.window !== undefined && slowWork(model, hit.window.from, hit.window.to);
}

/** One group per check and function (per use for findings without a check), in first-hit order. */
function groupByCheck(hits: readonly Hit[]): Hit[][] {
  const groups = new Map<string, Hit[]>();
  for (const h of hits) {
    const check = h.hit.check;
    const site = check?.scopes && check.scopes.length > 0 && !check.file
      ? `condition\u0000${check.scopes.map(([start, end]) => `${start}-${end}`).join(",")}`
      : check ? `check\u0000${check.file ?? ""}\u0000${check.site.line}\u0000${check.site.column}` : `use\u0000${h.rule.meta.code}\u0000${h.hit.use.site.line}\u0000${h.hit.use.site.column}`;
    const key = `${h.model.file.path}\u0000${h.model.fn.name}\u0000${site}`;
    const group = groups.get(key);
    if (group) group.push(h);
    else groups.set(key, [h]);
  }
  return [...groups.values()];
}

const rank = (severity: Severity) => SEVERITIES.indexOf(severity);

/** A group's finding: the most severe hit is primary; every distinct use is listed. */
/** `inBasicAuthCode`: the function runs while Basic credentials are checked, whatever route it serves. */
function toFinding(group: readonly Hit[], endpoints: readonly Endpoint[], inBasicAuthCode: boolean): DraftFinding {
  const basicAuth = inBasicAuthCode || endpoints.some((e) => e.basicAuth);
  const scored = group.map((h) => ({ ...h, severity: severityOf(h, basicAuth) }));
  scored.sort((a, b) => rank(b.severity) - rank(a.severity) || (a.rule.meta.code < b.rule.meta.code ? -1 : a.rule.meta.code > b.rule.meta.code ? 1 : 0) || a.hit.use.site.line - b.hit.use.site.line);
  const primary = scored[0]!;
  const { hit, model, rule } = primary;
  const file = model.file;
  const uses = new Map<string, SiteRef & { kind: UseKind }>();
  for (const { hit: h } of [...scored].sort((a, b) => a.hit.use.site.line - b.hit.use.site.line || a.hit.use.site.column - b.hit.use.site.column)) {
    const key = `${h.use.site.line}\u0000${h.use.kind}`;
    if (!uses.has(key)) uses.set(key, { line: h.use.site.line, text: h.use.site.text, kind: h.use.kind });
  }
  const finding: DraftFinding = {
    rule: rule.meta.code,
    name: rule.meta.name,
    severity: primary.severity,
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
    uses: [...uses.values()],
    basicAuth,
    route: endpoints[0]?.route ?? null,
    message: hit.race && hit.race.kind !== "none" ? `${hit.message} ${raceSentence(hit.race.kind, hit.race.by, primary.wide)}` : hit.message,
    remediation: hit.remediation,
  };
  if (hit.race && hit.race.kind !== "none") {
    finding.race = {
      kind: hit.race.kind,
      writers: hit.race.writers.map((w) => ({ file: w.file.path, line: w.line, function: w.fn.name, route: w.route })),
    };
  }
  if (hit.lock) finding.lock = { line: hit.lock.line, text: hit.lock.text };
  if (hit.transaction) finding.transaction = { line: hit.transaction.line, text: hit.transaction.text };
  const sameFileCheck = hit.check && (!hit.check.file || hit.check.file === file.path);
  const positions = hit.window && hit.window !== "deferred" ? hit.window : undefined;
  const window = sameFileCheck ? windowBetween(model, hit.check!.site.line, hit.use.site.line, positions) : null;
  if (window) finding.window = window;
  return finding;
}

/**
 * The rule's severity, adjusted for who can race it: a race only privileged actors can cause is
 * at most medium; a high write on an endpoint reachable with HTTP Basic Auth, with a wide
 * window, is critical (a stolen or scripted credential can hammer it).
 */
function severityOf(h: Hit, basicAuth: boolean): Severity {
  let severity = h.hit.severity;
  if (h.hit.race?.kind === "revocation" && rank(severity) > rank("medium")) severity = "medium";
  if (basicAuth && severity === "high" && h.hit.use.kind !== "disclose" && (h.wide || !h.hit.race)) severity = "critical";
  return severity;
}

function raceSentence(kind: "self" | "cross-path" | "revocation", by: string, wide: boolean): string {
  switch (kind) {
    case "self":
      return `Race: ${by}.`;
    case "cross-path":
      return `Race: ${by} while this runs.`;
    case "revocation":
      return `Race: ${by}${wide ? ", and the window is wide" : ""}.`;
  }
}
