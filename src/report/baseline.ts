/**
 * Baselines: the findings a team has accepted for now, so that CI reports only new ones.
 * Entries are keyed on fingerprints (no line numbers: lines may shift and the function may be
 * edited elsewhere; no comments or whitespace; files relative to the project root, so a scan of
 * a subdirectory matches) and count identical findings, so one old entry never hides a new twin.
 *
 * Version 1 baselines (before comments were left out and paths were made project-relative)
 * are still read and matched on version 1 fingerprints; `--write-baseline` writes version 2.
 */
import { createHash } from "node:crypto";
import { UsageError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import { type FingerprintPath, identityKey } from "../core/fingerprint.js";
import { UnreadableFile, readRegularFile } from "../discover/regularFile.js";
import { TOOL_NAME } from "../version.js";

export interface BaselineEntry {
  rule: string;
  /** Relative to the project root (version 1: to the scan root). */
  file: string;
  function: string;
  /** The use line's text, to help a reader find the finding. */
  use: string;
  /** How many identical findings (same rule, file, function, check and use text) are accepted. */
  count: number;
}

export interface Baseline {
  version: 1 | 2;
  tool: string;
  /** Keyed on the fingerprint of the first of a group of identical findings. */
  findings: Record<string, BaselineEntry>;
}

export interface BaselineOptions {
  /**
   * Maps a finding's `file` (relative to the scan root) to its path from the project root, as
   * the findings' fingerprints were computed (see `projectPaths` in report/paths.ts); default:
   * as it is.
   */
  projectPath?: FingerprintPath;
}

/** Identical findings, in report order, keyed on `name` of the first one. */
function groups(findings: readonly Finding[], identity: (f: Finding) => string, name: (f: Finding) => string): Map<string, Finding[]> {
  const byIdentity = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = identity(f);
    const list = byIdentity.get(key);
    if (list) list.push(f);
    else byIdentity.set(key, [f]);
  }
  return new Map([...byIdentity.values()].map((list) => [name(list[0]!), list]));
}

export function buildBaseline(findings: readonly Finding[], options: BaselineOptions = {}): Baseline {
  const path = options.projectPath ?? ((file: string) => file);
  const entries = [...groups(findings, (f) => identityKey(f, path), (f) => f.fingerprint)].map(([fingerprint, list]) => {
    const f = list[0]!;
    return [fingerprint, { rule: f.rule, file: path(f.file), function: f.function, use: f.use.text, count: list.length }] as const;
  });
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { version: 2, tool: TOOL_NAME, findings: Object.fromEntries(entries) };
}

export function formatBaseline(findings: readonly Finding[], options: BaselineOptions = {}): string {
  return `${JSON.stringify(buildBaseline(findings, options), null, 2)}\n`;
}

/**
 * The findings a baseline does not cover. Of n identical findings with m accepted, the first
 * m (in report order) are covered and the other n - m reported.
 */
export function applyBaseline(findings: readonly Finding[], baseline: Baseline, options: BaselineOptions = {}): { findings: Finding[]; covered: number } {
  const path = options.projectPath ?? ((file: string) => file);
  const grouped = baseline.version === 1
    ? groups(findings, identityKeyV1, (f) => fingerprintV1(identityKeyV1(f), 0))
    : groups(findings, (f) => identityKey(f, path), (f) => f.fingerprint);
  const hidden = new Set<Finding>();
  for (const [fingerprint, list] of grouped) {
    const accepted = Object.hasOwn(baseline.findings, fingerprint) ? baseline.findings[fingerprint]!.count : 0;
    for (const f of list.slice(0, accepted)) hidden.add(f);
  }
  return { findings: findings.filter((f) => !hidden.has(f)), covered: hidden.size };
}

/** Version 1 identity: the file relative to the scan root, check and use text with comments, whitespace runs as one space. */
function identityKeyV1(f: Finding): string {
  const text = (t: string) => t.replace(/\s+/g, " ").trim();
  return [f.rule, f.file, f.function, text(f.check?.text ?? ""), text(f.use.text)].join("\u0000");
}

function fingerprintV1(key: string, occurrence: number): string {
  return createHash("sha256").update(`${key}\u0000${occurrence}`).digest("hex").slice(0, 16);
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
    typeof data === "object" && data !== null && ((data as Baseline).version === 1 || (data as Baseline).version === 2) && typeof entries === "object" && entries !== null &&
    Object.values(entries).every((e) => typeof e === "object" && e !== null && Number.isInteger(e.count) && e.count > 0);
  if (!valid) throw new UsageError(`${file} is not a stalecheck baseline (write one with --write-baseline)`);
  return data as Baseline;
}
