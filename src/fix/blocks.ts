/**
 * Re-indenting edits: wrap a run of statements in a new `with` block, or pull the statements
 * after a `with` block into it. Lines inside multi-line strings keep their text (indenting them
 * would change the string); blank lines stay blank; comments move with their statements.
 */
import type { SyntaxNode } from "../parse/parser.js";
import { type PySource, endLine, indentOf, indentUnit, lineEnd, lineOf, lineStart, lineText, linesInsideStrings, ownsItsLines, startLine } from "./pySource.js";
import type { TextEdit } from "./types.js";

/** Why statements of this function cannot be put under `with transaction.atomic():`, or null. */
export function atomicWrapProblem(fn: SyntaxNode): string | null {
  if (fn.children.some((c) => c.type === "async")) return "the function is async, and transaction.atomic() does not run in async code";
  return null;
}

/**
 * Lines `from`..`to`, each indented by `unit` more, except blank ones and those inside multi-line
 * strings; `inner` edits (each within one line) are applied first.
 */
function indentLines(source: PySource, from: number, to: number, unit: string, within: SyntaxNode, inner: readonly TextEdit[] = []): string {
  const inString = linesInsideStrings(within);
  let out = "";
  for (let line = from; line <= to; line++) {
    const start = lineStart(source, line);
    let text = lineText(source, line);
    const here = inner.filter((e) => e.start >= start && e.end <= start + text.length).sort((a, b) => b.start - a.start);
    for (const e of here) text = text.slice(0, e.start - start) + e.newText + text.slice(e.end - start);
    out += inString.has(line) ? text : text.trim() === "" ? "" : unit + text;
    if (line < to) out += source.text.slice(lineEnd(source, line), lineStart(source, line + 1));
  }
  return out;
}

/**
 * Wraps the sibling statements `first`..`last` of `fn` in `header` (`with transaction.atomic():`),
 * with `prologue` lines (relative to the new block's indentation) at the top of the new block and
 * the one-line `inner` edits applied to the statements.
 */
export function wrapStatements(source: PySource, fn: SyntaxNode, first: SyntaxNode, last: SyntaxNode, header: string, prologue: readonly string[] = [], inner: readonly TextEdit[] = []): TextEdit | { reason: string } {
  const unit = indentUnit(source, fn);
  if (unit === null) return { reason: "the function's indentation could not be read" };
  if (!ownsItsLines(source, first, last)) return { reason: "the statements share a line with other code" };
  const indent = indentOf(source, startLine(first));
  const start = lineStart(source, startLine(first));
  const end = lineEnd(source, endLine(last));
  const stray = inner.find((e) => e.start < start || e.end > end || e.newText.includes("\n") || lineOf(source, e.start) !== lineOf(source, e.end));
  if (stray) throw new Error("an edit inside re-indented statements must stay within one of their lines");
  const eol = source.eol;
  const opening = `${indent}${header}${eol}${prologue.map((line) => (line === "" ? eol : `${indent}${unit}${line}${eol}`)).join("")}`;
  return { file: source.path, start, end, newText: opening + indentLines(source, startLine(first), endLine(last), unit, fn, inner) };
}

/**
 * Moves the statements after the `with` statement `block`, up to and including `last` (a later
 * sibling), into its body: they are indented to the body's level.
 */
export function extendWith(source: PySource, withStatement: SyntaxNode, last: SyntaxNode): TextEdit | { reason: string } {
  const body = withStatement.childForFieldName("body");
  const firstInner = body?.namedChildren.find((n) => n.type !== "comment");
  if (!body || !firstInner || startLine(firstInner) === startLine(withStatement)) return { reason: "the with block's body is on its header line" };
  const outer = indentOf(source, startLine(withStatement));
  const inner = indentOf(source, startLine(firstInner));
  if (!inner.startsWith(outer) || inner === outer) return { reason: "the with block's indentation could not be read" };
  if (!ownsItsLines(source, last, last)) return { reason: "the statements share a line with other code" };
  const from = endLine(withStatement) + 1;
  const to = endLine(last);
  if (from > to) return { reason: "nothing follows the with block" };
  return { file: source.path, start: lineStart(source, from), end: lineEnd(source, to), newText: indentLines(source, from, to, inner.slice(outer.length), withStatement.parent!) };
}
