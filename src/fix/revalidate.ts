/**
 * The re-validation fix (STC103, unsafe): right before the uses, re-read the requesting user
 * with a row lock inside `transaction.atomic()` and repeat the check on what was read.
 *
 *     if not request.user.is_staff:                 if not request.user.is_staff:
 *         raise PermissionDenied                        raise PermissionDenied
 *     verify_bank_account(payout)            →      verify_bank_account(payout)
 *     payout.approve()                              with transaction.atomic():
 *                                                       locked_user = User.objects.select_for_update().get(pk=request.user.pk)
 *                                                       if not locked_user.is_staff:
 *                                                           raise PermissionDenied
 *                                                       payout.approve()
 *
 * A demotion updates the user's row, so it waits for the lock, and the repeated check sees it.
 */
import type { BuildContext } from "./context.js";
import { inTransaction } from "./context.js";
import { checkAt, noCheckReason } from "./fetches.js";
import type { SyntaxNode } from "../parse/parser.js";
import { importedName } from "./imports.js";
import { commonRange, endLine, freshName, indentOf, isStatement, lineText, linesInsideStrings, startLine, walk } from "./pySource.js";
import type { BuiltFix } from "./types.js";
import { lockUserStatement, requestUserIn, userModel } from "./userRow.js";

const UNSAFE = "a request that passed the first check is now refused when the user lost the right during the work in between, after that work ran";

/**
 * The test a decorator makes (`@staff_member_required`, `@user_passes_test(lambda u: …)`,
 * `@user_passes_test(is_boss)`), as a condition on `user` that denies; null for others.
 */
function decoratorDenies(fn: SyntaxNode, line: number, user: string): string | null {
  const decorated = fn.parent?.type === "decorated_definition" ? fn.parent : null;
  const decorator = decorated?.namedChildren.find((d) => d.type === "decorator" && startLine(d) === line);
  let expr = decorator?.namedChildren[0] ?? null;
  if (expr?.type === "call" && expr.childForFieldName("function")!.text.endsWith("method_decorator")) expr = expr.childForFieldName("arguments")!.namedChildren[0] ?? null;
  if (!expr) return null;
  if (/(^|\.)staff_member_required$/.test(expr.text)) return `not (${user}.is_active and ${user}.is_staff)`;
  if (expr.type !== "call" || !/(^|\.)user_passes_test$/.test(expr.childForFieldName("function")!.text)) return null;
  const test = expr.childForFieldName("arguments")!.namedChildren[0];
  if (test?.type === "identifier" || test?.type === "attribute") return `not ${test.text}(${user})`;
  const param = test?.type === "lambda" ? test.childForFieldName("parameters")?.namedChildren : undefined;
  const body = test?.childForFieldName("body");
  if (!param || param.length !== 1 || param[0]!.type !== "identifier" || !body) return null;
  const name = param[0]!.text;
  const reads = walk(body).filter((n) => n.type === "identifier" && n.text === name).sort((a, b) => b.startIndex - a.startIndex);
  let text = body.text;
  for (const n of reads) text = text.slice(0, n.startIndex - body.startIndex) + user + text.slice(n.endIndex - body.startIndex);
  return text.includes("\n") ? null : `not (${text})`;
}

export function revalidateUser(ctx: BuildContext): BuiltFix {
  const { source, fn, finding } = ctx;
  const check = finding.check;
  if (!check || check.file) return { reason: "the check is not in this function" };
  const at = checkAt(fn, check.line);
  if (!at) return revalidateDecorator(ctx, check.line);
  if (at.node.type !== "if_statement" || at.node.childForFieldName("alternative")) return { reason: "the check is not an `if` without `else` that can be repeated" };
  const guard = at.node;
  const consequence = guard.childForFieldName("consequence");
  const last = consequence?.namedChildren.filter(isStatement).at(-1);
  if (!last || !["return_statement", "raise_statement"].includes(last.type)) return { reason: "the check's `if` does not return or raise, so repeating it would not stop the use" };
  const user = requestUserIn(fn, at.condition);
  if (!user) return { reason: "the check does not read request.user" };
  const body = fn.childForFieldName("body")!;
  const range = commonRange(body, ctx.useLines);
  if (!range || range.first.startIndex < guard.endIndex) return { reason: "the uses do not all come after the check" };
  const model = userModel(source);
  if ("reason" in model) return model;
  const fresh = freshName(source, fn, "locked_user");
  // The condition with every `request.user` read from the fresh row instead.
  const condition = at.condition;
  const reads = walk(condition).filter((n) => n.type === "attribute" && n.text === user).sort((a, b) => b.startIndex - a.startIndex);
  let repeated = condition.text;
  for (const n of reads) repeated = repeated.slice(0, n.startIndex - condition.startIndex) + fresh + repeated.slice(n.endIndex - condition.startIndex);
  if (repeated.includes("\n")) return { reason: "the check's condition spans several lines" };
  const first = consequence!.namedChildren.find(isStatement)!;
  if (startLine(first) === startLine(guard)) return { reason: "the check's body is on its header line" };
  const inString = linesInsideStrings(guard);
  const from = indentOf(source, startLine(first));
  const unit = from.slice(indentOf(source, startLine(guard)).length);
  const deny: string[] = [];
  for (let line = startLine(first); line <= endLine(consequence!); line++) {
    const text = lineText(source, line);
    if (inString.has(line)) return { reason: "the check's body holds a multi-line string" };
    if (text.trim() === "") deny.push("");
    else if (!text.startsWith(from)) return { reason: "the check's body is not indented evenly" };
    else deny.push(unit + text.slice(from.length));
  }
  return inTransaction(ctx, {
    lines: ctx.useLines,
    prologue: [`${fresh} = ${lockUserStatement(model.expr, user)}`, `if ${repeated}:`, ...deny],
    outer: model.edit ? [model.edit] : [],
    safety: "unsafe",
    unsafeBecause: UNSAFE,
    what: `Re-read the user with a row lock and repeat the check on line ${check.line} before line ${Math.min(...ctx.useLines)}`,
  });
}

/** A decorator's check repeated in the body, on the user's row read under a lock, before the uses. */
function revalidateDecorator(ctx: BuildContext, line: number): BuiltFix {
  const { source, fn } = ctx;
  const fresh = freshName(source, fn, "locked_user");
  const denies = decoratorDenies(fn, line, fresh);
  const params = (fn.childForFieldName("parameters")?.namedChildren ?? []).map((p) => p.text);
  const request = params[0] === "self" ? "self.request" : params[0] === "request" ? "request" : null;
  if (!denies || !request) return { reason: noCheckReason(fn, line) };
  const model = userModel(source);
  if ("reason" in model) return model;
  const denied = importedName(source, "django.core.exceptions.PermissionDenied", 3);
  if ("reason" in denied) return denied;
  return inTransaction(ctx, {
    lines: ctx.useLines,
    prologue: [`${fresh} = ${lockUserStatement(model.expr, `${request}.user`)}`, `if ${denies}:`, `    raise ${denied.expr}`],
    outer: [...(model.edit ? [model.edit] : []), ...(denied.edit ? [denied.edit] : [])],
    safety: "unsafe",
    unsafeBecause: `${UNSAFE}; and the repeated check raises PermissionDenied where the decorator would have redirected to the login page`,
    what: `Re-read the user with a row lock and repeat the decorator's check before line ${Math.min(...ctx.useLines)}`,
  });
}
