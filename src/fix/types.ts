/**
 * Fixes as data: a fix is a set of text edits to one file, computed from a finding and a fresh
 * parse of that file, with a safety in Ruff's sense. `--fix` applies safe fixes,
 * `--unsafe-fixes` the others too; the language server offers both as quick fixes.
 */

/**
 * `safe`: a request that does not race behaves as before; the fix only takes a transaction and
 * a row lock on the very row the check reads and the use writes, or removes a comment that
 * suppresses nothing. `unsafe`: what a request does may change (a compare-and-set that can now
 * fail, a re-check that can now deny, an `update()` that skips `save()`), or the race closes only
 * when other code takes the same lock (a lock on the user's or a parent row).
 */
export type FixSafety = "safe" | "unsafe";

/** Replace `[start, end)` (UTF-16 offsets into the file's text, as JavaScript strings count) with `newText`. */
export interface TextEdit {
  /** Relative to the scan root, forward slashes, as in findings. */
  file: string;
  start: number;
  end: number;
  newText: string;
}

export interface Fix {
  rule: string;
  safety: FixSafety;
  /** What the fix does, imperative: "Lock `invoice` with select_for_update() and wrap lines 76-84 in transaction.atomic()". */
  title: string;
  /** Why the fix is unsafe, when it is. */
  unsafeBecause?: string;
  edits: TextEdit[];
  /** Fingerprints of the findings the fix resolves: the finding it was made for and its twins (same rule, function and check). */
  resolves: string[];
}

/** A builder's answer: a fix without its bookkeeping, or why there is none. */
export type BuiltFix = Omit<Fix, "rule" | "resolves"> | { reason: string };

export function isFix(built: BuiltFix): built is Omit<Fix, "rule" | "resolves"> {
  return "edits" in built;
}
