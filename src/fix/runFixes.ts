/**
 * `--fix`: apply fixes until nothing more can be fixed, as Ruff does. Each pass analyses the
 * project, proposes a fix per finding, applies per file those that do not overlap and still
 * parse, and analyses again: a fix after which its finding is still reported is undone and not
 * tried again. Overlapping fixes (two findings in one function) wait for the next pass, which
 * sees the first one applied. Nothing is written here: the caller writes or diffs the texts.
 */
import type { Finding } from "../core/finding.js";
import { applyFixes } from "./apply.js";
import { type FixOptions, proposeFixes } from "./dispatch.js";
import { readPySource } from "./pySource.js";
import type { Fix } from "./types.js";
import type { Workspace } from "./workspace.js";

export interface FixRunOptions {
  /** Apply unsafe fixes too (`--unsafe-fixes`). */
  unsafe: boolean;
  /** Most passes (Ruff stops at 100; fixes here converge in two or three). */
  maxPasses?: number;
}

export interface FixReport {
  /** The files changed: their text before the first fix and after the last. */
  files: Map<string, { original: string; fixed: string }>;
  /** The fixes applied, in order. */
  applied: Fix[];
  /** Findings reported before any fix and no longer reported. */
  fixed: number;
  /** The findings left, each with why it was not fixed. */
  remaining: { finding: Finding; reason: string }[];
  /** Remaining findings an unsafe fix would resolve (`--unsafe-fixes`). */
  hiddenUnsafe: number;
}

/** What stays the same when a fix moves a finding's lines: rule, function and the check (or, without one, the use). */
export function findingKey(f: Pick<Finding, "rule" | "function" | "file" | "check" | "use">): string {
  const norm = (t: string) => t.replace(/\s+/g, " ").trim();
  return [f.rule, f.file, f.function, f.check ? `check:${norm(f.check.text)}` : `use:${norm(f.use.text)}`].join("\u0000");
}

const fixKey = (fix: Fix, finding: Finding) => `${findingKey(finding)}\u0000${fix.title}`;

/** The fixes a run may apply to a file's findings: the first allowed and not refused per finding, one per set of twins. */
function chooseFixes(proposals: readonly FixOptions[], options: FixRunOptions, refused: ReadonlyMap<string, string>): Fix[] {
  const out: Fix[] = [];
  const resolved = new Set<string>();
  for (const { finding, fixes } of proposals) {
    if (resolved.has(finding.fingerprint)) continue;
    const fix = fixes.find((f) => (options.unsafe || f.safety === "safe") && !refused.has(fixKey(f, finding)));
    if (!fix) continue;
    for (const id of fix.resolves) resolved.add(id);
    out.push(fix);
  }
  return out;
}

async function proposalsFor(workspace: Workspace, file: string, findings: readonly Finding[]): Promise<FixOptions[] | null> {
  const text = workspace.text(file);
  if (text === null) return null;
  const transactionNames = workspace.analyser.extract.transactionNames ?? [];
  const needsSuppressions = findings.some((f) => f.rule === "STC001");
  return proposeFixes(await readPySource(file, text), findings, { transactionNames, ...(needsSuppressions ? { suppressions: workspace.suppressions() } : {}) });
}

function byFile(findings: readonly Finding[]): Map<string, Finding[]> {
  const out = new Map<string, Finding[]>();
  for (const f of findings) out.set(f.file, [...(out.get(f.file) ?? []), f]);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export async function runFixes(workspace: Workspace, options: FixRunOptions): Promise<FixReport> {
  const before = workspace.findings();
  const originals = new Map<string, string>();
  const refused = new Map<string, string>();
  const applied: Fix[] = [];
  const maxPasses = options.maxPasses ?? 10;
  for (let pass = 0; pass < maxPasses; pass++) {
    const pending = new Map<string, { text: string; fixes: { fix: Fix; findings: Finding[] }[] }>();
    for (const [file, findings] of byFile(workspace.findings())) {
      const proposals = await proposalsFor(workspace, file, findings);
      if (!proposals) continue;
      const chosen = chooseFixes(proposals, options, refused);
      if (chosen.length === 0) continue;
      const text = workspace.text(file)!;
      const result = await applyFixes(text, chosen);
      const findingsOf = (fix: Fix) => findings.filter((f) => fix.resolves.includes(f.fingerprint));
      for (const fix of result.refused) for (const f of findingsOf(fix)) refused.set(fixKey(fix, f), "its result would not parse");
      if (result.applied.length === 0) continue;
      pending.set(file, { text, fixes: result.applied.map((fix) => ({ fix, findings: findingsOf(fix) })) });
      if (!originals.has(file)) originals.set(file, text);
      await workspace.update(file, result.text);
    }
    if (pending.size === 0) break;
    // A fix must silence what it was made for; one that does not is undone with its file's pass.
    const after = new Set(workspace.findings().map(findingKey));
    for (const [file, { text, fixes }] of pending) {
      const failed = fixes.filter(({ findings }) => findings.some((f) => after.has(findingKey(f))));
      if (failed.length === 0) {
        applied.push(...fixes.map((f) => f.fix));
        continue;
      }
      for (const { fix, findings } of failed) for (const f of findings) refused.set(fixKey(fix, f), "the finding was still reported after the fix");
      await workspace.update(file, text);
    }
  }
  const files = new Map<string, { original: string; fixed: string }>();
  for (const [file, original] of originals) {
    const fixed = workspace.text(file);
    if (fixed !== null && fixed !== original) files.set(file, { original, fixed });
  }
  const final = workspace.findings();
  const left = new Map<string, number>();
  for (const f of final) left.set(findingKey(f), (left.get(findingKey(f)) ?? 0) + 1);
  let fixed = 0;
  for (const f of before) {
    const n = left.get(findingKey(f)) ?? 0;
    if (n > 0) left.set(findingKey(f), n - 1);
    else fixed++;
  }
  const { remaining, hiddenUnsafe } = await explainRemaining(workspace, final, options, refused);
  return { files, applied, fixed, remaining, hiddenUnsafe };
}

/** Why each remaining finding was not fixed. */
async function explainRemaining(workspace: Workspace, final: readonly Finding[], options: FixRunOptions, refused: ReadonlyMap<string, string>): Promise<{ remaining: FixReport["remaining"]; hiddenUnsafe: number }> {
  const remaining: FixReport["remaining"] = [];
  let hiddenUnsafe = 0;
  for (const [file, findings] of byFile(final)) {
    const proposals = (await proposalsFor(workspace, file, findings)) ?? findings.map((finding) => ({ finding, fixes: [], reasons: ["the file could not be read"] }));
    for (const { finding, fixes, reasons } of proposals) {
      const refusal = fixes.map((f) => refused.get(fixKey(f, finding))).find((r) => r !== undefined);
      const unsafe = fixes.find((f) => f.safety === "unsafe");
      let reason: string;
      if (!options.unsafe && unsafe && !refused.has(fixKey(unsafe, finding))) {
        hiddenUnsafe++;
        reason = `an unsafe fix is available with --unsafe-fixes (${unsafe.title}): ${unsafe.unsafeBecause ?? "it changes behaviour"}`;
      } else if (refusal) {
        reason = `a fix was tried and undone: ${refusal}`;
      } else {
        reason = reasons[0] ?? "no fix applies";
      }
      remaining.push({ finding, reason });
    }
  }
  return { remaining, hiddenUnsafe };
}
