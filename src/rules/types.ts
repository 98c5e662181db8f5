import type { CheckEvent, SourceSite } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import type { FunctionModel } from "./functionModel.js";

export type Severity = "low" | "medium" | "high" | "critical";
export type Confidence = "low" | "medium" | "high";

export const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];

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
}

export interface RuleMeta {
  code: string;
  name: string;
  defaultSeverity: Severity;
  docs: RuleDocs;
}

/** `suppression`: the comment an STC001 finding reports. */
export type UseKind = "write" | "delete" | "create" | "enqueue" | "disclose" | "lock" | "suppression" | "authorize" | "cache";

/** What a rule reports; the analyse stage adds file, function, route and fingerprint. */
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

export interface Rule {
  meta: RuleMeta;
  check(model: FunctionModel, project: Project): RuleHit[];
}

export type { CheckEvent };
