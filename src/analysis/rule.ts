/**
 * What a rule is to the engine: metadata and documentation, and hooks that look at one
 * function's model (`checkFunction`) or at the whole project at once (`checkProject`). Rules
 * return hits; the engine turns them into findings (file, function, route, Basic Auth reach,
 * severity escalation, window, suppressions, fingerprints).
 */
import type { UseKind } from "../core/finding.js";
import type { Confidence, Severity } from "../core/severity.js";
import type { FileFacts, SourceSite } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import type { FunctionModel } from "./model.js";

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
  /** `file` is set when the check lives in another file (a permission class, a helper module). */
  check: { site: SourceSite; kind: string; file?: string } | null;
  use: { site: SourceSite; kind: UseKind };
  lock?: SourceSite;
  transaction?: SourceSite;
  message: string;
  remediation: string;
}

/** What rules see of a scan besides one function. */
export interface AnalysisContext {
  project: Project;
  /** The functions findings may be reported in (request code, or every file with --include-non-request), in file order. */
  models: readonly FunctionModel[];
  /** The models of any file's functions, request code or not, built once on first use. */
  modelsOf(file: FileFacts): readonly FunctionModel[];
}

export interface Rule {
  meta: RuleMeta;
  /** Hits in one function. */
  checkFunction?(model: FunctionModel, context: AnalysisContext): RuleHit[];
  /** Hits that need the whole project first (a flag stored in one function and trusted in another); each names its function. */
  checkProject?(context: AnalysisContext): { model: FunctionModel; hit: RuleHit }[];
}
