/**
 * The compare-and-set fix (STC102, unsafe): the write re-tests the checked state itself.
 *
 *     if invoice.status != Invoice.Status.OPEN:        if invoice.status != Invoice.Status.OPEN:
 *         return Response(status=409)                      return Response(status=409)
 *     invoice.status = Invoice.Status.PAID      →      invoice.status = Invoice.Status.PAID
 *     invoice.save(update_fields=["status"])           if not Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN).update(status=invoice.status):
 *                                                          return Response(status=409)
 *
 * The guard stays as a cheap early exit; the UPDATE's row count decides. Arithmetic on a field
 * becomes an F() expression (fExpression.ts). An `update()` that is already the use gets the
 * lookup added to its `filter()`.
 */
import type { SyntaxNode } from "../parse/parser.js";
import type { BuildContext } from "./context.js";
import { bindingBefore, checkAt, queryModel, noCheckReason } from "./fetches.js";
import { changesObjectOtherwise, fieldWrites } from "./fExpression.js";
import { importedName } from "./imports.js";
import { type PySource, endLine, indentOf, indentUnit, isStatement, lineEnd, lineText, linesInsideStrings, ownsItsLines, startLine, statementAt, walk } from "./pySource.js";
import type { BuiltFix, TextEdit } from "./types.js";

const UNSAFE =
  "the write becomes a conditional UPDATE: when the row changed after the check, the request now takes the check's failure branch after the work between them has run, and update() skips the model's save() (its signals, auto_now fields and overrides)";

/** Fields whose name says they hold a boolean, for which a truthiness test has an exact lookup. */
const BOOLEAN_NAME = /^(is|has|can|was|should|needs)_|^(used|active|enabled|disabled|paid|locked|claimed|redeemed|deleted|archived|approved|verified|confirmed|published|closed|open|done|cancelled|canceled|void|revoked|processed|sent)$/;

const NEGATE: Record<string, string> = { "==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">", in: "not in", "not in": "in", is: "is not", "is not": "is" };
const FLIP: Record<string, string> = { "<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!=" };
const LOOKUP: Record<string, string> = { "==": "", "<": "__lt", "<=": "__lte", ">": "__gt", ">=": "__gte", in: "__in" };

/** What the row must satisfy for the check to pass: `filter(...)` and `exclude(...)` arguments. */
interface Requirement {
  object: string;
  field: string;
  filter: string[];
  exclude: string[];
}

/** The requirement a condition states about `object.field` when `holds` is what must be true. */
function requirement(condition: SyntaxNode, holds: boolean): Requirement | { reason: string } {
  let node = condition;
  while (node.type === "parenthesized_expression") node = node.namedChildren[0]!;
  if (node.type === "not_operator") return requirement(node.childForFieldName("argument")!, !holds);
  if (node.type === "attribute") {
    const field = fieldOf(node);
    if (!field) return { reason: "the check does not read a field of a variable" };
    if (!BOOLEAN_NAME.test(field.field)) return { reason: `the check tests \`${node.text}\` for truth, which no lookup states exactly unless the field is a boolean` };
    return { ...field, filter: [`${field.field}=${holds ? "True" : "False"}`], exclude: [] };
  }
  if (node.type !== "comparison_operator" || node.namedChildren.length !== 2) return { reason: "the check is not a single comparison of a field" };
  let op = node.children.filter((c) => !c.isNamed).map((c) => c.type).join(" ");
  let [left, right] = node.namedChildren as [SyntaxNode, SyntaxNode];
  if (!fieldOf(left) && fieldOf(right)) {
    if (!FLIP[op]) return { reason: `\`${op}\` with the field on the right has no lookup` };
    [left, right, op] = [right, left, FLIP[op]!];
  }
  const field = fieldOf(left);
  if (!field) return { reason: "the check does not compare a field of a variable" };
  if (walk(right).some((n) => n.type === "identifier" && n.text === field.object)) return { reason: "the compared value reads the checked object itself" };
  if (!holds) op = NEGATE[op] ?? "";
  if (op === "is" || op === "is not") {
    if (right.type !== "none") return { reason: "an identity test other than `is None` has no lookup" };
    return { ...field, filter: [`${field.field}__isnull=${op === "is" ? "True" : "False"}`], exclude: [] };
  }
  if (op === "!=") return { ...field, filter: [], exclude: [`${field.field}=${right.text}`] };
  if (op === "not in") return { ...field, filter: [], exclude: [`${field.field}__in=${right.text}`] };
  if (LOOKUP[op] === undefined) return { reason: `\`${op}\` has no lookup` };
  return { ...field, filter: [`${field.field}${LOOKUP[op]}=${right.text}`], exclude: [] };
}

function fieldOf(node: SyntaxNode): { object: string; field: string } | null {
  if (node.type !== "attribute") return null;
  const object = node.childForFieldName("object");
  return object?.type === "identifier" ? { object: object.text, field: node.childForFieldName("attribute")!.text } : null;
}

/** The deny branch of `if <deny>: <exit>`, re-indented for `indent` (the new `if`'s body). */
function denyBody(source: PySource, guard: SyntaxNode, indent: string): string[] | null {
  const block = guard.childForFieldName("consequence");
  const first = block?.namedChildren.find(isStatement);
  if (!block || !first || startLine(first) === startLine(guard)) return null;
  const from = indentOf(source, startLine(first));
  const inString = linesInsideStrings(guard);
  const lines: string[] = [];
  for (let line = startLine(first); line <= endLine(block); line++) {
    const text = lineText(source, line);
    if (inString.has(line)) lines.push(text);
    else if (text.trim() === "") lines.push("");
    else if (!text.startsWith(from)) return null;
    else lines.push(indent + text.slice(from.length));
  }
  return lines;
}

/** Does the block end by leaving: return, raise, continue, break? */
function exits(block: SyntaxNode | null): boolean {
  const last = block?.namedChildren.filter(isStatement).at(-1);
  return last !== undefined && ["return_statement", "raise_statement", "continue_statement", "break_statement"].includes(last.type);
}

export function compareAndSet(ctx: BuildContext): BuiltFix {
  const { source, fn, finding } = ctx;
  const check = finding.check;
  if (!check || check.file) return { reason: "the check is not in this function" };
  const at = checkAt(fn, check.line);
  if (!at) return { reason: noCheckReason(fn, check.line) };
  if (at.node.type !== "if_statement") return { reason: "the check is not an `if` statement" };
  const guard = at.node;
  if (!exits(guard.childForFieldName("consequence")) || guard.childForFieldName("alternative")) return { reason: "the check's `if` does not simply leave (return, raise, continue) when it fails" };
  const required = requirement(at.condition, false);
  if ("reason" in required) return required;
  const body = fn.childForFieldName("body")!;
  const first = Math.min(...ctx.useLines);
  const use = statementAt(body, first);
  if (!use || use.startIndex < guard.endIndex || use.type !== "expression_statement") return { reason: "the first use is not a statement after the check" };
  // Later uses would still act on the stale check as far as a re-scan can tell: lock instead.
  if (ctx.useLines.some((line) => line > endLine(use))) return { reason: "the check guards more than one write; a compare-and-set covers only the first" };
  const call = use.namedChildren[0];
  if (call?.type !== "call") return { reason: "the first use is not a call" };
  const callee = call.childForFieldName("function")!;
  const method = callee.type === "attribute" ? callee.childForFieldName("attribute")!.text : "";
  const receiver = callee.type === "attribute" ? callee.childForFieldName("object")! : null;
  const unit = indentUnit(source, fn);
  if (unit === null || !ownsItsLines(source, use)) return { reason: "the write shares its line with other code" };
  const indent = indentOf(source, startLine(use));
  const deny = denyBody(source, guard, indent + unit);
  if (!deny) return { reason: "the check's failure branch could not be copied" };
  const F = importedName(source, "django.db.models.F", 3);
  const fName = "reason" in F ? "F" : F.expr;
  const lookups = [...required.filter];
  const exclude = required.exclude.length > 0 ? `.exclude(${required.exclude.join(", ")})` : "";
  let test: string;
  let usesF = false;
  if (receiver?.type === "identifier" && receiver.text === required.object && (method === "save" || method === "delete")) {
    const manager = managerOf(fn, required.object, guard.startIndex);
    const rows = `${manager}.filter(${["pk=" + required.object + ".pk", ...lookups].join(", ")})${exclude}`;
    if (method === "delete") {
      test = `${rows}.delete()[0]`;
    } else {
      const args = call.childForFieldName("arguments")!.namedChildren;
      if (args.some((a) => a.type !== "keyword_argument" || a.childForFieldName("name")!.text !== "update_fields")) return { reason: "save() is called with arguments other than update_fields" };
      const between = use.parent!.namedChildren.filter((s) => isStatement(s) && s.startIndex > guard.endIndex && s.endIndex <= use.startIndex);
      if (between.some((s) => changesObjectOtherwise(s, required.object))) return { reason: `\`${required.object}\` is changed by a call between the check and the save` };
      const writes = fieldWrites(between, required.object, fName);
      const named = args[0] ? literalStrings(args[0].childForFieldName("value")!) : [...writes.keys()];
      if (!named || named.length === 0) return { reason: "which fields the save writes is not known" };
      const values = named.map((field) => writes.get(field) ?? { field, value: `${required.object}.${field}`, usesF: false });
      usesF = values.some((v) => v.usesF);
      test = `${rows}.update(${values.map((v) => `${v.field}=${v.value}`).join(", ")})`;
    }
  } else if (method === "update" && receiver) {
    const filter = walk(receiver).find((n) => n.type === "call" && n.childForFieldName("function")?.type === "attribute" && n.childForFieldName("function")!.childForFieldName("attribute")!.text === "filter");
    if (!filter || !walk(filter.childForFieldName("arguments")!).some((n) => n.type === "identifier" && n.text === required.object)) return { reason: "the update's filter() does not select the checked row" };
    const args = filter.childForFieldName("arguments")!;
    const added = lookups.length > 0 ? `${args.namedChildren.length > 0 ? ", " : ""}${lookups.join(", ")}` : "";
    const original = call.text;
    const offset = args.endIndex - 1 - call.startIndex;
    const excludeAt = filter.endIndex - call.startIndex;
    test = original.slice(0, offset) + added + original.slice(offset, excludeAt) + exclude + original.slice(excludeAt);
  } else {
    return { reason: "the first use is neither a save(), a delete() nor an update() of the checked object" };
  }
  if (test.includes("\n")) return { reason: "the write spans several lines" };
  // A comment after the write stays on the line: it ends the new `if` header.
  const comment = source.text.slice(use.endIndex, lineEnd(source, endLine(use)));
  const edits: TextEdit[] = [{ file: source.path, start: use.startIndex, end: lineEnd(source, endLine(use)), newText: `if not ${test}:${comment}${source.eol}${deny.join(source.eol)}` }];
  if (usesF) {
    if ("reason" in F) return F;
    if (F.edit) edits.push(F.edit);
  }
  return { safety: "unsafe", unsafeBecause: UNSAFE, title: `Make line ${startLine(use)} a compare-and-set update that re-tests \`${required.object}.${required.field}\` and handle a row count of 0 as the check failing`, edits };
}

/** `Invoice.objects` for an object fetched from Invoice, else `type(obj)._default_manager`. */
function managerOf(fn: SyntaxNode, object: string, before: number): string {
  const binding = bindingBefore(fn, object, before);
  if (binding?.value.type === "call") {
    const callee = binding.value.childForFieldName("function")!;
    const firstArg = binding.value.childForFieldName("arguments")?.namedChildren[0];
    if (callee.type === "identifier" && callee.text === "get_object_or_404" && firstArg?.type === "identifier" && /^[A-Z]/.test(firstArg.text)) return `${firstArg.text}.objects`;
    const model = queryModel(callee.type === "attribute" ? callee.childForFieldName("object")! : binding.value);
    if (model) return `${model}.objects`;
  }
  return `type(${object})._default_manager`;
}

function literalStrings(node: SyntaxNode): string[] | null {
  if (node.type !== "list" && node.type !== "tuple") return null;
  const out: string[] = [];
  for (const item of node.namedChildren) {
    if (item.type !== "string" || item.namedChildren.some((c) => c.type === "interpolation")) return null;
    out.push(item.text.slice(1, -1));
  }
  return out;
}
