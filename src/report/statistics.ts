/** `--statistics`: how many findings each rule reported, instead of the findings themselves (as Ruff's). */
import { SEVERITIES, type Severity } from "../core/severity.js";
import type { ScanResult } from "../core/result.js";

export interface RuleCount {
  code: string;
  name: string;
  count: number;
  /** Findings of the rule per severity, most severe first, only severities that occur. */
  severities: Partial<Record<Severity, number>>;
}

/** Rules with findings, most findings first, then by code. */
export function ruleCounts(result: ScanResult): RuleCount[] {
  const byRule = new Map<string, RuleCount>();
  for (const f of result.findings) {
    const entry = byRule.get(f.rule) ?? { code: f.rule, name: f.name, count: 0, severities: {} };
    entry.count++;
    byRule.set(f.rule, entry);
  }
  for (const entry of byRule.values()) {
    for (const severity of [...SEVERITIES].reverse()) {
      const n = result.findings.filter((f) => f.rule === entry.code && f.severity === severity).length;
      if (n > 0) entry.severities[severity] = n;
    }
  }
  return [...byRule.values()].sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

export function formatStatisticsText(result: ScanResult): string {
  const rows = ruleCounts(result).map((r) => {
    const severities = Object.entries(r.severities).map(([s, n]) => `${n} ${s}`).join(", ");
    return `${String(r.count).padStart(5)}  ${r.code}  ${r.name.padEnd(34)} ${severities}`;
  });
  return rows.length > 0 ? `${rows.join("\n")}\n` : "";
}

export function formatStatisticsJson(result: ScanResult): string {
  return `${JSON.stringify(ruleCounts(result), null, 2)}\n`;
}
