/**
 * Lock-and-transaction fixes: fetch the checked row with `select_for_update()` and run the
 * fetch, the check and the uses in one `transaction.atomic()` block.
 *
 *   STC102  lock the object whose state is checked (safe)
 *   STC105  lock the right row, or pull the uses into the block that holds the lock (safe)
 *   STC101  lock the requesting user's row before the check (unsafe: revocations must take it too)
 *   STC108  lock the row the guard reads (a quota), or the user's row (unsafe, for the same reason)
 */
import type { SyntaxNode } from "../parse/parser.js";
import { extendWith } from "./blocks.js";
import { type BuildContext, inTransaction } from "./context.js";
import { type LockEdit, bindingBefore, checkAt, enclosingAtomic, lastMention, lockFetch, mentions, testedObjects, noCheckReason } from "./fetches.js";
import { endLine, pathToLine, startLine, statementAt } from "./pySource.js";
import type { BuiltFix } from "./types.js";
import { lockUserStatement, requestUserIn, userModel } from "./userRow.js";

const USER_LOCK_UNSAFE =
  "the lock on the user's row holds off only the revocations that lock or update that row (Django's admin user form saves it; a bare `user.groups.remove()` does not), so the code that revokes access may have to take it too";

/** The checked object's fetch made locking, or why not: tries each variable the condition reads, those the uses mention first. */
function lockedSubject(ctx: BuildContext, condition: SyntaxNode, before: number, exclude: readonly string[] = []): { name: string; lock: LockEdit } | { reason: string } {
  const names = testedObjects(condition).filter((n) => !exclude.includes(n) && !/^[A-Z]/.test(n));
  const uses = ctx.useLines.map((line) => statementAt(ctx.fn.childForFieldName("body")!, line)).filter((s): s is SyntaxNode => s !== null);
  names.sort((a, b) => Number(uses.some((u) => mentions(u, b))) - Number(uses.some((u) => mentions(u, a))));
  let reason = "the condition reads no fetched object";
  for (const name of names) {
    const binding = bindingBefore(ctx.fn, name, before);
    if (!binding) continue;
    const lock = lockFetch(ctx.source, ctx.fn, binding);
    if ("reason" in lock) {
      reason = lock.reason;
      continue;
    }
    return { name, lock };
  }
  return { reason };
}

/** STC102, and STC105 "lock on the wrong row": lock the object the check reads. */
export function lockCheckedObject(ctx: BuildContext): BuiltFix {
  const check = ctx.finding.check;
  if (!check || check.file) return { reason: "the check is not in this function" };
  const at = checkAt(ctx.fn, check.line);
  if (!at) return { reason: noCheckReason(ctx.fn, check.line) };
  const subject = lockedSubject(ctx, at.condition, at.node.startIndex);
  if ("reason" in subject) return subject;
  return inTransaction(ctx, {
    lines: [startLine(subject.lock.evaluatedAt), check.line, ...ctx.useLines],
    inner: subject.lock.edits,
    safety: "safe",
    what: `Fetch \`${subject.name}\` with select_for_update()`,
  });
}

/** STC101: lock the requesting user's row, then check, then use, in one transaction. */
export function lockUserRow(ctx: BuildContext): BuiltFix {
  const check = ctx.finding.check;
  if (!check || check.file) return { reason: "DRF runs this check in a permission class before the handler; re-check inside the handler's transaction instead" };
  const at = checkAt(ctx.fn, check.line);
  if (!at) return { reason: noCheckReason(ctx.fn, check.line) };
  return lockRequestUser(ctx, at.condition, check.line, USER_LOCK_UNSAFE, `Lock the requesting user's row before the check on line ${check.line}`)
    ?? { reason: "the check does not read request.user, so which rows to lock is not known" };
}

/** STC108: lock the row the guard reads (a quota, an account), else the requesting user's row. */
export function lockGuardRow(ctx: BuildContext): BuiltFix {
  const check = ctx.finding.check;
  const noFix = "no mechanical fix: the guard needs a unique constraint (a model change and its migration) or a row every creator locks";
  if (!check || check.line === ctx.finding.line) return { reason: `${noFix}; get_or_create() is race-free only on fields a unique constraint covers` };
  const at = checkAt(ctx.fn, check.line);
  if (!at) return { reason: noCheckReason(ctx.fn, check.line) };
  const unsafeBecause = "the lock serialises the runs of this handler; other code that creates these rows must lock the same row for the limit to hold everywhere";
  const subject = lockedSubject(ctx, at.condition, at.node.startIndex, ["request", "self"]);
  if (!("reason" in subject)) {
    return inTransaction(ctx, {
      lines: [startLine(subject.lock.evaluatedAt), check.line, ...ctx.useLines],
      inner: subject.lock.edits,
      safety: "unsafe",
      unsafeBecause,
      what: `Fetch \`${subject.name}\` with select_for_update() so that concurrent creates wait for each other`,
    });
  }
  return lockRequestUser(ctx, at.condition, check.line, unsafeBecause, `Lock the requesting user's row before the guard on line ${check.line}`) ?? { reason: noFix };
}

/**
 * Locks the requesting user's row before the check on `checkLine` and runs the check and the
 * uses in one transaction (STC101's fix, STC108's fallback); null when the check's condition
 * does not read request.user.
 */
function lockRequestUser(ctx: BuildContext, condition: SyntaxNode, checkLine: number, unsafeBecause: string, what: string): BuiltFix | null {
  const user = requestUserIn(ctx.fn, condition);
  if (!user) return null;
  const model = userModel(ctx.source);
  if ("reason" in model) return model;
  return inTransaction(ctx, {
    lines: [checkLine, ...ctx.useLines],
    prologue: [lockUserStatement(model.expr, user)],
    outer: model.edit ? [model.edit] : [],
    safety: "unsafe",
    unsafeBecause,
    what,
  });
}

/**
 * STC105: a lock on the wrong row (lock the checked object too), a lock released before the
 * use (pull the uses into the block), a lock taken outside any transaction (open one).
 */
export function fixIneffectiveLock(ctx: BuildContext): BuiltFix {
  const { finding, fn, source } = ctx;
  const body = fn.childForFieldName("body")!;
  if (finding.check && finding.lock) return lockCheckedObject(ctx);
  if (finding.check && finding.transaction) {
    const withStatement = pathToLine(body, finding.transaction.line).map((s) => s.statement).find((s) => s.type === "with_statement" && startLine(s) === finding.transaction!.line);
    if (!withStatement) return { reason: `no with block was found on line ${finding.transaction.line}` };
    const lastUse = Math.max(...ctx.useLines);
    const after = withStatement.parent!.namedChildren.find((s) => s.startIndex > withStatement.endIndex && pathToLine(withStatement.parent!, lastUse)[0]?.statement === s);
    if (!after) return { reason: "the uses are not in the block that follows the transaction" };
    const edit = extendWith(source, withStatement, after);
    if ("reason" in edit) return edit;
    return { safety: "safe", title: `Move lines ${endLine(withStatement) + 1}-${endLine(after)} into the transaction.atomic() block on line ${startLine(withStatement)}, which holds the lock`, edits: [edit] };
  }
  if (finding.check === null && !finding.transaction) {
    const lockStatement = statementAt(body, finding.line);
    if (!lockStatement) return { reason: `no statement was found on line ${finding.line}` };
    if (enclosingAtomic(fn, lockStatement, ctx.transactionNames)) {
      return { reason: "the project's only database is SQLite, which ignores SELECT … FOR UPDATE: no edit makes this lock work (run on PostgreSQL, or use a compare-and-set update)" };
    }
    const assigned = lockStatement.namedChildren[0]?.type === "assignment" ? lockStatement.namedChildren[0].childForFieldName("left") : null;
    const block = lockStatement.parent!;
    const last = assigned?.type === "identifier" ? lastMention(block, lockStatement, assigned.text) : lockStatement;
    return inTransaction(ctx, { lines: [startLine(lockStatement), startLine(last)], safety: "safe", what: "Take the lock inside a transaction" });
  }
  return { reason: "the locked queryset is evaluated after its transaction ended; evaluate it inside the block (list(), get()), which depends on how the result is used" };
}
