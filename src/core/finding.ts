/** What a scan reports: the findings of the JSON contract (DESIGN.md §4), shared by every stage after the rules. */
import type { Confidence, Severity } from "./severity.js";

/** `suppression`: the comment an STC001 finding reports. */
export type UseKind = "write" | "delete" | "create" | "enqueue" | "disclose" | "lock" | "suppression" | "authorize" | "cache";

/** Who can change what the check read (DESIGN.md §1). */
export type RaceKind = "self" | "cross-path" | "revocation";

/** Code that changes the checked state, cited in a finding's `race`. */
export interface WriterRef {
  file: string;
  line: number;
  function: string;
  route: string | null;
}

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
  /** Every use the check guards in this function, in line order; `use` is the most severe. */
  uses: (SiteRef & { kind: UseKind })[];
  /** Who can change the checked state in the window; absent for findings that pair no check with a use. */
  race?: { kind: RaceKind; writers: WriterRef[] };
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

/** A finding before its fingerprint is computed (fingerprints number identical twins in report order). */
export type DraftFinding = Omit<Finding, "fingerprint">;

/** Report order: file, line, rule, then whatever tells twins apart. */
export function compareFindings(a: DraftFinding, b: DraftFinding): number {
  return (
    compareText(a.file, b.file) || a.line - b.line || compareText(a.rule, b.rule) || a.column - b.column ||
    compareText(a.function, b.function) || (a.check?.line ?? 0) - (b.check?.line ?? 0) || compareText(a.message, b.message)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
