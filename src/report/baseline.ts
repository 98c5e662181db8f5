/**
 * Baselines: the findings a team has accepted for now, so that CI reports only new ones.
 * Entries are keyed on fingerprints (no line numbers: lines may shift and the function may be
 * edited elsewhere) and count identical findings, so one old entry never hides a new twin.
 */
import { UsageError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import { identityKey } from "../core/fingerprint.js";
import { UnreadableFile, readRegularFile } from "../discover/regularFile.js";
import { TOOL_NAME } from "../version.js";

export interface BaselineEntry {
  rule: string;
  file: string;
  function: string;
  /** The use line's text, to help a reader find the finding. */
  use: string;
  /** How many identical findings (same rule, file, function, check and use text) are accepted. */
  count: number;
}

export interface Baseline {
  version: 1;
  tool: string;
  /** Keyed on the fingerprint of the first of a group of identical findings. */
  findings: Record<string, BaselineEntry>;
}

/** Identical findings, in report order; the first one's fingerprint names the group. */
function groups(findings: readonly Finding[]): Map<string, Finding[]> {
  const byIdentity = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = identityKey(f);
    const list = byIdentity.get(key);
    if (list) list.push(f);
    else byIdentity.set(key, [f]);
  }
  return new Map([...byIdentity.values()].map((list) => [list[0]!.fingerprint, list]));
}

export function buildBaseline(findings: readonly Finding[]): Baseline {
  const entries = [...groups(findings)].map(([fingerprint, list]) => {
    const f = list[0]!;
    return [fingerprint, { rule: f.rule, file: f.file, function: f.function, use: f.use.text, count: list.length }] as const;
  });
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { version: 1, tool: TOOL_NAME, findings: Object.fromEntries(entries) };
}

export function formatBaseline(findings: readonly Finding[]): string {
  return `${JSON.stringify(buildBaseline(findings), null, 2)}\n`;
}

/**
 * The findings a baseline does not cover. Of n identical findings with m accepted, the first
 * m (in report order) are covered and the other n - m reported.
 */
export function applyBaseline(findings: readonly Finding[], baseline: Baseline): { findings: Finding[]; covered: number } {
  const hidden = new Set<Finding>();
  for (const [fingerprint, list] of groups(findings)) {
    const accepted = baseline.findings[fingerprint]?.count ?? 0;
    for (const f of list.slice(0, accepted)) hidden.add(f);
  }
  return { findings: findings.filter((f) => !hidden.has(f)), covered: hidden.size };
}

/** Largest baseline read: one entry is about 300 bytes, so this holds some 200,000 findings. */
export const MAX_BASELINE_BYTES = 64 * 1024 * 1024;

/** Reads a baseline: a regular file of at most MAX_BASELINE_BYTES holding a stalecheck baseline. */
export function readBaseline(file: string): Baseline {
  let text: string;
  try {
    text = readRegularFile(file, MAX_BASELINE_BYTES);
  } catch (error) {
    if (error instanceof UnreadableFile) throw new UsageError(`cannot read baseline ${file}: ${error.message}`);
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Not JSON.parse's message: it quotes the text, and the file may not be a baseline at all.
    throw new UsageError(`cannot read baseline ${file}: not valid JSON (write one with --write-baseline)`);
  }
  const entries = (data as Baseline | null)?.findings;
  const valid =
    typeof data === "object" && data !== null && (data as Baseline).version === 1 && typeof entries === "object" && entries !== null &&
    Object.values(entries).every((e) => typeof e === "object" && e !== null && Number.isInteger(e.count) && e.count > 0);
  if (!valid) throw new UsageError(`${file} is not a stalecheck baseline (write one with --write-baseline)`);
  return data as Baseline;
}
