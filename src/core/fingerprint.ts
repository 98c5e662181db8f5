/**
 * Fingerprints survive line shifts: they hash the rule, file, function and the whitespace-
 * normalised text of the check and use lines, plus an occurrence number for identical twins.
 * Baselines and SARIF's partialFingerprints rely on them.
 */
import { createHash } from "node:crypto";
import type { DraftFinding, Finding } from "./finding.js";

/** Fingerprints findings that are already in report order. */
export function fingerprint(findings: readonly DraftFinding[]): Finding[] {
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
