/**
 * Applying fixes to a file's text: edits are merged only when they do not overlap (identical
 * edits, such as the same import added by two fixes, count once), and the result is re-parsed:
 * a fix whose result does not parse is refused, never written.
 */
import { parsePython } from "../parse/parser.js";
import type { Fix, TextEdit } from "./types.js";

function sameEdit(a: TextEdit, b: TextEdit): boolean {
  return a.start === b.start && a.end === b.end && a.newText === b.newText;
}

/** Do two edits touch the same text? Two insertions at one point conflict unless identical (their order would be arbitrary). */
export function overlaps(a: TextEdit, b: TextEdit): boolean {
  if (sameEdit(a, b)) return false;
  if (a.start === a.end && b.start === b.end) return a.start === b.start;
  if (a.start === a.end) return a.start > b.start && a.start < b.end;
  if (b.start === b.end) return b.start > a.start && b.start < a.end;
  return a.start < b.end && b.start < a.end;
}

/** `text` with the edits applied; throws when two of them overlap. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const unique = edits.filter((e, i) => edits.findIndex((o) => sameEdit(o, e)) === i);
  const sorted = [...unique].sort((a, b) => b.start - a.start || b.end - a.end);
  for (let i = 1; i < sorted.length; i++) if (overlaps(sorted[i - 1]!, sorted[i]!)) throw new Error("overlapping edits");
  let out = text;
  for (const e of sorted) {
    if (e.start < 0 || e.end > text.length || e.start > e.end) throw new RangeError(`edit [${e.start}, ${e.end}) is outside the text`);
    out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  }
  return out;
}

export interface AppliedFixes {
  text: string;
  applied: Fix[];
  /** Fixes left for a later pass: their edits overlap one applied before them. */
  deferred: Fix[];
  /** Fixes whose result would not parse. */
  refused: Fix[];
}

/**
 * Applies `fixes` (all for one file) in order, each only when its edits overlap none applied
 * before it and the text still parses with it. Re-parsing after each fix keeps one broken fix
 * from taking the others down with it.
 */
export async function applyFixes(text: string, fixes: readonly Fix[]): Promise<AppliedFixes> {
  const result: AppliedFixes = { text, applied: [], deferred: [], refused: [] };
  const chosen: TextEdit[] = [];
  for (const fix of fixes) {
    if (fix.edits.some((e) => chosen.some((c) => overlaps(c, e)))) {
      result.deferred.push(fix);
      continue;
    }
    let candidate: string;
    try {
      candidate = applyEdits(text, [...chosen, ...fix.edits]);
    } catch {
      // The fix's own edits overlap: a builder bug, refused rather than guessed at.
      result.refused.push(fix);
      continue;
    }
    if ((await parsePython(candidate)).hasError) {
      result.refused.push(fix);
      continue;
    }
    chosen.push(...fix.edits);
    result.applied.push(fix);
    result.text = candidate;
  }
  return result;
}
