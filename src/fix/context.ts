/** What a fix builder is given: the finding, the uses it and its twins guard, and the re-parsed file. */
import type { Finding } from "../core/finding.js";
import type { SyntaxNode } from "../parse/parser.js";
import { importedName } from "./imports.js";
import { atomicWrapProblem, wrapStatements } from "./blocks.js";
import { enclosingAtomic } from "./fetches.js";
import { type PySource, commonRange, endLine, indentOf, lineEnd, lineStart, startLine, walk } from "./pySource.js";
import type { BuiltFix, FixSafety, TextEdit } from "./types.js";

export interface BuildContext {
  source: PySource;
  finding: Finding;
  /** The function the finding is in. */
  fn: SyntaxNode;
  /** Lines of every use the check guards in this function (the finding's and its twins'), sorted. */
  useLines: number[];
  /** Names that open a transaction besides `transaction.atomic` (config `transaction-decorators`). */
  transactionNames: readonly string[];
}

export interface AtomicRequest {
  /** Lines that must run in the transaction: the fetch, the check and the uses. */
  lines: number[];
  /** Statements to put first in the transaction (a lock on the user's row). */
  prologue?: string[];
  /** Single-line edits inside those statements (a `.select_for_update()` inserted), applied before re-indenting. */
  inner?: TextEdit[];
  /** Edits elsewhere in the file (an import). */
  outer?: TextEdit[];
  safety: FixSafety;
  unsafeBecause?: string;
  /** The title's first part ("Fetch `invoice` with select_for_update()"); where the transaction is comes after it. */
  what: string;
}

/**
 * The fix that runs `lines` in one transaction: inside the `transaction.atomic()` block or
 * decorator that already holds them, else in a new `with transaction.atomic():` block around the
 * statements that hold them (imported when missing). A block that catches exceptions makes the
 * fix unsafe: a database error caught inside the transaction leaves it unusable.
 */
export function inTransaction(ctx: BuildContext, request: AtomicRequest): BuiltFix {
  const { source, fn } = ctx;
  const body = fn.childForFieldName("body");
  const range = body ? commonRange(body, request.lines) : null;
  if (!range) return { reason: "the check and its uses are not statements of one block" };
  const prologue = request.prologue ?? [];
  // Edits outside the statements to re-indent (a lock added where a queryset is built) stay as they are.
  const spanStart = lineStart(source, startLine(range.first));
  const spanEnd = lineEnd(source, endLine(range.last));
  const inner = (request.inner ?? []).filter((e) => e.start >= spanStart && e.end <= spanEnd);
  const outer = [...(request.outer ?? []), ...(request.inner ?? []).filter((e) => !inner.includes(e))];
  const lineSpan = startLine(range.first) === endLine(range.last) ? `line ${startLine(range.first)}` : `lines ${startLine(range.first)}-${endLine(range.last)}`;
  let safety = request.safety;
  let unsafeBecause = request.unsafeBecause;
  const existing = enclosingAtomic(fn, range.first, ctx.transactionNames);
  if (existing) {
    const at = lineStart(source, startLine(range.first));
    const indent = indentOf(source, startLine(range.first));
    const added = prologue.map((line) => `${indent}${line}${source.eol}`).join("");
    const edits = mergeInsertions([...inner, ...outer, ...(added ? [{ file: source.path, start: at, end: at, newText: added }] : [])]);
    const where = existing === fn ? "the function's transaction" : `the transaction.atomic() block on line ${startLine(existing)}`;
    return { safety, ...(unsafeBecause ? { unsafeBecause } : {}), title: `${request.what} inside ${where}`, edits };
  }
  const asyncProblem = atomicWrapProblem(fn);
  if (asyncProblem) return { reason: asyncProblem };
  const risky = walk(range.block).find((n) => n.startIndex >= range.first.startIndex && n.endIndex <= range.last.endIndex && n.type === "except_clause");
  if (risky && safety === "safe") {
    safety = "unsafe";
    unsafeBecause = `line ${startLine(risky)} catches exceptions inside the new transaction, and a database error caught there leaves the transaction unusable`;
  }
  const atomic = importedName(source, "django.db.transaction.atomic", 2);
  if ("reason" in atomic) return atomic;
  const wrap = wrapStatements(source, fn, range.first, range.last, `with ${atomic.expr}():`, prologue, inner);
  if ("reason" in wrap) return wrap;
  return {
    safety,
    ...(unsafeBecause ? { unsafeBecause } : {}),
    title: `${request.what} and run ${lineSpan} in transaction.atomic()`,
    edits: mergeInsertions([wrap, ...outer, ...(atomic.edit ? [atomic.edit] : [])]),
  };
}

/**
 * One edit per insertion point: imports added at the same place become one insertion, their
 * lines sorted, so that the edits of one fix never overlap each other.
 */
export function mergeInsertions(edits: readonly TextEdit[]): TextEdit[] {
  const out: TextEdit[] = [];
  for (const edit of edits) {
    const same = edit.start === edit.end ? out.find((e) => e.start === edit.start && e.end === edit.start) : undefined;
    if (!same) {
      out.push({ ...edit });
      continue;
    }
    const lines = new Set([...same.newText.split(/(?<=\n)/), ...edit.newText.split(/(?<=\n)/)]);
    same.newText = [...lines].sort().join("");
  }
  return out;
}
