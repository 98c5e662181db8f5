/**
 * What a rule is to the engine: metadata and documentation, and hooks: `checkFunction` looks at
 * one function's model; `checkProject` first builds what the rule needs from the whole project
 * (a session key stored in one view and trusted in another) and returns its check for each
 * function. Rules return hits; the engine turns them into findings (file, function, route,
 * Basic Auth reach, which races are reported, severity, window, suppressions, fingerprints).
 */
import type { UseKind } from "../core/finding.js";
import type { Confidence, Severity } from "../core/severity.js";
import type { FileFacts, SourceSite, Span } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import type { FunctionModel } from "./model.js";
import type { Race } from "./race.js";

export interface RuleDocs {
  /** One sentence: what the rule reports. */
  summary: string;
  /** Why this is a vulnerability, in Django terms. */
  why: string;
  /** Python code the rule flags. Lines the rule reports end with `# expect: CODE`. */
  example: string;
  /** The fixed version; the rule stays silent on it. */
  useInstead: string;
  knownLimitations: string[];
  references: { title: string; url: string }[];
  /** What `check --fix` (safe fixes) and `--unsafe-fixes` do for this rule's findings (see src/fix/). */
  fixes: RuleFixes;
}

export interface RuleFixes {
  available: { title: string; safety: "safe" | "unsafe"; why: string }[];
  /** When no fix is offered, and why. */
  none: string;
}

export interface RuleMeta {
  code: string;
  name: string;
  defaultSeverity: Severity;
  docs: RuleDocs;
}

/** What a rule reports; the engine adds file, function, route and fingerprint. */
export interface RuleHit {
  severity: Severity;
  confidence: Confidence;
  /**
   * `file` is set when the check lives in another file (a permission class, a helper module).
   * `scopes`: the guard scopes of the check's condition; the checks of one condition share
   * them and make one decision, so they make one finding.
   */
  check: { site: SourceSite; kind: string; file?: string; scopes?: Span[] } | null;
  use: { site: SourceSite; kind: UseKind };
  lock?: SourceSite;
  transaction?: SourceSite;
  message: string;
  remediation: string;
  /** Who can change what the check read; a hit without one (a misplaced lock, a cache) is always reported. */
  race?: Race;
  /**
   * Where the check takes effect and where the use runs (positions), for deciding whether the
   * window is wide; `deferred` when the use happens later by design (a queued task, a later request).
   */
  window?: { from: number; to: number } | "deferred";
}

/** What rules see of a scan besides one function. */
export interface AnalysisContext {
  project: Project;
  /** The models of a file's functions, request code or not (built anew on each call: ask only for the files needed). */
  modelsOf(file: FileFacts): readonly FunctionModel[];
}

export interface Rule {
  meta: RuleMeta;
  /** Hits in one function. */
  checkFunction?(model: FunctionModel, context: AnalysisContext): RuleHit[];
  /** Builds what the rule needs from the whole project, once, and returns its check for each function. */
  checkProject?(context: AnalysisContext): (model: FunctionModel) => RuleHit[];
}
