/**
 * One dispatcher from findings to fixes: groups a finding with its twins (the other uses its
 * check guards in the same function), finds its function in the re-parsed file, and asks the
 * builders of its rule, safest first.
 */
import type { Finding, SiteRef } from "../core/finding.js";
import { atomicWrapProblem } from "./blocks.js";
import type { BuildContext } from "./context.js";
import { compareAndSet } from "./conditionalUpdate.js";
import { fixIneffectiveLock, lockCheckedObject, lockGuardRow, lockUserRow } from "./lockAndAtomic.js";
import { type PySource, findFunction, unfixableSource } from "./pySource.js";
import { revalidateUser } from "./revalidate.js";
import { type Fix, type BuiltFix, isFix } from "./types.js";
import { type SuppressionContext, removeUnusedSuppression } from "./unusedSuppression.js";

type Builder = (ctx: BuildContext) => BuiltFix;

/** The fix builders of each rule, the preferred (safest) first. */
const BUILDERS: Record<string, Builder[]> = {
  STC101: [lockUserRow],
  STC102: [lockCheckedObject, compareAndSet],
  STC103: [revalidateUser],
  STC105: [fixIneffectiveLock],
  STC108: [lockGuardRow],
};

/** Why a rule has no fix at all, for its findings. */
const NO_FIX: Record<string, string> = {
  STC104:
    "no mechanical fix: the check and the use live in different places (a session flag, a queued task, a permission class or dispatch()); repeat the check where the write happens",
  STC106:
    "no mechanical fix: re-fetch the user (`User.objects.get(pk=user.pk)`) before calling has_perm() again, or stop caching the decision",
  STC107: "no mechanical fix: drop the credential cache and check `is_active` on every request",
};

/** Every fix found for a finding (preferred first), and why the builders that found none did not. */
export interface FixOptions {
  finding: Finding;
  fixes: Fix[];
  reasons: string[];
}

export interface ProposeOptions {
  /** Names that open a transaction besides `transaction.atomic` (config `transaction-decorators`). */
  transactionNames?: readonly string[];
  /** For STC001: which suppressions of this file are used (see unusedSuppression.ts). */
  suppressions?: SuppressionContext;
}

function usesOf(finding: Finding): SiteRef[] {
  const withUses = finding as Finding & { uses?: SiteRef[] };
  return withUses.uses ?? [finding.use];
}

/** The findings reported with the same check in the same function: one fix resolves them all. */
export function twinsOf(finding: Finding, findings: readonly Finding[]): Finding[] {
  if (finding.check === null) return [finding];
  return findings.filter((f) => f.rule === finding.rule && f.file === finding.file && f.function === finding.function && f.check?.line === finding.check!.line && f.check?.file === finding.check!.file);
}

/** Fixes for the findings of one file, in the order of `findings`. */
export function proposeFixes(source: PySource, findings: readonly Finding[], options: ProposeOptions = {}): FixOptions[] {
  const unfixable = unfixableSource(source);
  return findings.map((finding) => {
    if (unfixable) return { finding, fixes: [], reasons: [`not fixable: ${unfixable}`] };
    if (finding.rule === "STC001") {
      const built = options.suppressions ? removeUnusedSuppression(source, finding, options.suppressions) : { reason: "the suppressions of this file were not analysed" };
      return isFix(built) ? { finding, fixes: [{ ...built, rule: finding.rule, resolves: [finding.fingerprint] }], reasons: [] } : { finding, fixes: [], reasons: [built.reason] };
    }
    const builders = BUILDERS[finding.rule];
    if (!builders) return { finding, fixes: [], reasons: [NO_FIX[finding.rule] ?? "no fix is known for this rule"] };
    const fn = findFunction(source, finding.function, finding.line);
    if (!fn) return { finding, fixes: [], reasons: [`the function ${finding.function} was not found on line ${finding.line}`] };
    const asyncProblem = atomicWrapProblem(fn);
    if (asyncProblem) return { finding, fixes: [], reasons: [`${asyncProblem}; move the check and the writes into a synchronous function called with sync_to_async()`] };
    const twins = twinsOf(finding, findings);
    const useLines = [...new Set(twins.flatMap((t) => usesOf(t).map((u) => u.line)))].sort((a, b) => a - b);
    const ctx: BuildContext = { source, finding, fn, useLines, transactionNames: options.transactionNames ?? [] };
    const fixes: Fix[] = [];
    const reasons: string[] = [];
    for (const build of builders) {
      const built = build(ctx);
      if (isFix(built)) fixes.push({ ...built, rule: finding.rule, resolves: twins.map((t) => t.fingerprint) });
      else reasons.push(built.reason);
    }
    fixes.sort((a, b) => Number(a.safety === "unsafe") - Number(b.safety === "unsafe"));
    return { finding, fixes, reasons };
  });
}
