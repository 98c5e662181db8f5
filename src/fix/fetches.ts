/**
 * The objects a check reads and where they were fetched: the variable a condition tests
 * (`invoice` in `if invoice.status != OPEN:`), the statement that bound it (`invoice =
 * get_object_or_404(Invoice, pk=pk)`, `for invoice in pending:`), and the edit that makes that
 * fetch take a row lock (`select_for_update()`).
 */
import type { SyntaxNode } from "../parse/parser.js";
import { type PySource, isStatement, startLine, walk } from "./pySource.js";
import type { TextEdit } from "./types.js";

/** Statement kinds a check line can carry, and where their condition is. */
const CHECK_NODES = new Set(["if_statement", "elif_clause", "while_statement", "assert_statement", "expression_statement", "return_statement"]);

/** The node of a check on `line` inside `fn` (an `if`/`elif` header, an assert, a call that may raise) and the expression it decides on. */
export function checkAt(fn: SyntaxNode, line: number): { node: SyntaxNode; condition: SyntaxNode } | null {
  // A decorator's check (`@permission_required`) runs before the body: no statement to guard.
  const candidates = walk(fn).filter((n) => startLine(n) === line && CHECK_NODES.has(n.type));
  const node = candidates.find((n) => n.type === "if_statement" || n.type === "elif_clause") ?? candidates[0];
  if (!node) return null;
  const condition = node.childForFieldName("condition") ?? (node.type === "assert_statement" ? node.namedChildren[0] ?? null : node);
  return condition ? { node, condition } : null;
}

/** Why no check statement is on `line`: a decorator's check runs before the body, so there is nothing to repeat or lock around. */
export function noCheckReason(fn: SyntaxNode, line: number): string {
  const decorated = fn.parent?.type === "decorated_definition" ? fn.parent : null;
  const decorator = decorated?.namedChildren.find((d) => d.type === "decorator" && startLine(d) <= line && d.endPosition.row + 1 >= line);
  if (decorator) return `the check is the decorator \`${decorator.text.trim()}\`, which runs before the function's body; repeat the check inside the body, under the lock`;
  return `no check statement was found on line ${line}`;
}

/** Where a variable got its value: `name = value` or `for name in value`. */
export interface Binding {
  name: string;
  /** The statement of the function body (or of a nested block) that binds it. */
  statement: SyntaxNode;
  value: SyntaxNode;
  kind: "assign" | "for";
}

/** Nodes of `fn` outside nested functions, classes and lambdas. */
function ownNodes(fn: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const stack = [...(fn.childForFieldName("body")?.namedChildren ?? [])].reverse();
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    if (n.type === "function_definition" || n.type === "class_definition" || n.type === "lambda") continue;
    for (let i = n.namedChildren.length - 1; i >= 0; i--) stack.push(n.namedChildren[i]!);
  }
  return out;
}

/** The last binding of `name` in `fn` that starts before `offset`; null when there is none, or one the fixers cannot follow (tuple targets, `with … as`). */
export function bindingBefore(fn: SyntaxNode, name: string, offset: number): Binding | null {
  let found: Binding | null = null;
  for (const n of ownNodes(fn)) {
    if (n.startIndex >= offset) break;
    if (n.type === "assignment" && n.childForFieldName("left")?.type === "identifier" && n.childForFieldName("left")!.text === name) {
      const value = n.childForFieldName("right");
      const statement = n.parent;
      found = value && statement?.type === "expression_statement" ? { name, statement, value, kind: "assign" } : null;
    } else if (n.type === "for_statement" && n.childForFieldName("left")?.text === name) {
      const value = n.childForFieldName("right");
      found = value && n.childForFieldName("left")!.type === "identifier" ? { name, statement: n, value, kind: "for" } : null;
    } else if ((n.type === "pattern_list" || n.type === "tuple_pattern" || n.type === "as_pattern_target") && walk(n).some((i) => i.type === "identifier" && i.text === name)) {
      found = null;
    }
  }
  return found;
}

/** Variables whose attributes a condition reads (`invoice` in `invoice.status`), in order of appearance. */
export function testedObjects(condition: SyntaxNode): string[] {
  const names: string[] = [];
  for (const n of walk(condition)) {
    if (n.type !== "attribute") continue;
    const object = n.childForFieldName("object");
    if (object?.type === "identifier" && !names.includes(object.text)) names.push(object.text);
  }
  return names;
}

/** Methods that build a queryset of the same rows (a lock can be added to them). */
const QUERYSET_METHODS = new Set(["all", "filter", "exclude", "select_related", "prefetch_related", "order_by", "using", "only", "defer", "none", "get_queryset", "select_for_update"]);
/** Methods that evaluate a queryset to one object. */
const SINGLE_FETCHES = new Set(["get", "first", "last", "earliest", "latest"]);
/** Methods after which PostgreSQL refuses FOR UPDATE (or Django raises NotSupportedError). */
const UNLOCKABLE = new Set(["distinct", "union", "intersection", "difference", "aggregate", "annotate", "values_list", "values"]);

/** The method names along a call chain (`Invoice.objects.filter(x).get(y)` → objects, filter, get) and its root. */
function chain(node: SyntaxNode): { root: SyntaxNode; steps: string[] } {
  const steps: string[] = [];
  let n: SyntaxNode = node;
  for (;;) {
    if (n.type === "call") n = n.childForFieldName("function")!;
    else if (n.type === "attribute") {
      steps.unshift(n.childForFieldName("attribute")!.text);
      n = n.childForFieldName("object")!;
    } else break;
  }
  return { root: n, steps };
}

/** Is `node` a queryset expression: a manager (`Model.objects`) followed by queryset methods? */
function isQueryset(node: SyntaxNode): boolean {
  const { root, steps } = chain(node);
  if (steps.length === 0) return false;
  const manager = steps[0] === "objects" || steps[0] === "_default_manager" || (root.type === "identifier" && /^[A-Z]/.test(root.text) && steps.length >= 2 && QUERYSET_METHODS.has(steps[1]!));
  const viaSelf = root.type === "identifier" && root.text === "self" && steps[0] === "get_queryset";
  return (manager || viaSelf) && steps.slice(1).every((s) => QUERYSET_METHODS.has(s) || !UNLOCKABLE.has(s));
}

/** The model a queryset expression reads, when its root names one (`Invoice.objects…` → Invoice). */
export function queryModel(node: SyntaxNode): string | null {
  const { root, steps } = chain(node);
  return root.type === "identifier" && /^[A-Z]/.test(root.text) && steps.length > 0 ? root.text : null;
}

function lockCall(query: SyntaxNode): string {
  return chain(query).steps.includes("select_related") ? '.select_for_update(of=("self",))' : ".select_for_update()";
}

export interface LockEdit {
  edits: TextEdit[];
  /** The statement where the locked query is evaluated: it must run inside the transaction. */
  evaluatedAt: SyntaxNode;
  /** The model locked, when known. */
  model: string | null;
}

/**
 * The edit that makes the fetch behind `binding` take a row lock: `.select_for_update()` before
 * the evaluating call (`.get()`, `.first()`), in `get_object_or_404`'s first argument, or at the
 * end of the queryset a `for` loop iterates. Null with a reason when the fetch is not a queryset
 * the fixer recognises (DRF's `self.get_object()`, a helper's return value).
 */
export function lockFetch(source: PySource, fn: SyntaxNode, binding: Binding): LockEdit | { reason: string } {
  const value = binding.value;
  const insert = (at: number, text: string): TextEdit => ({ file: source.path, start: at, end: at, newText: text });
  const unlockable = (node: SyntaxNode) => chain(node).steps.find((s) => UNLOCKABLE.has(s));
  if (binding.kind === "for") {
    let query: SyntaxNode | null = value;
    if (value.type === "identifier") query = bindingBefore(fn, value.text, binding.statement.startIndex)?.value ?? null;
    if (!query || !isQueryset(query)) return { reason: `\`${binding.name}\` iterates something that is not recognisably a queryset` };
    const bad = unlockable(query);
    if (bad) return { reason: `the queryset uses ${bad}(), which cannot be locked with FOR UPDATE` };
    return { edits: [insert(query.endIndex, lockCall(query))], evaluatedAt: binding.statement, model: queryModel(query) };
  }
  if (value.type === "await") return { reason: `\`${binding.name}\` is fetched with await: transaction.atomic() and select_for_update() need synchronous code (sync_to_async)` };
  if (value.type !== "call") return { reason: `\`${binding.name}\` is not fetched by a call` };
  const fnNode = value.childForFieldName("function")!;
  if (fnNode.type === "identifier" && (fnNode.text === "get_object_or_404" || fnNode.text === "get_list_or_404")) {
    const first = value.childForFieldName("arguments")?.namedChildren[0];
    if (!first || first.type === "keyword_argument") return { reason: "get_object_or_404() has no model argument" };
    if (first.type === "identifier" && /^[A-Z]/.test(first.text)) {
      return { edits: [insert(first.endIndex, ".objects.select_for_update()")], evaluatedAt: binding.statement, model: first.text };
    }
    if (!isQueryset(first)) return { reason: "get_object_or_404()'s first argument is not recognisably a model or queryset" };
    const bad = unlockable(first);
    if (bad) return { reason: `the queryset uses ${bad}(), which cannot be locked with FOR UPDATE` };
    return { edits: [insert(first.endIndex, lockCall(first))], evaluatedAt: binding.statement, model: queryModel(first) };
  }
  if (fnNode.type === "attribute" && SINGLE_FETCHES.has(fnNode.childForFieldName("attribute")!.text)) {
    const query = fnNode.childForFieldName("object")!;
    let recognised = isQueryset(query);
    if (!recognised && query.type === "identifier") {
      const def = bindingBefore(fn, query.text, binding.statement.startIndex);
      recognised = def !== null && def.kind === "assign" && isQueryset(def.value);
    }
    if (!recognised) return { reason: `\`${binding.name}\` is not fetched from a recognisable queryset` };
    const bad = unlockable(query);
    if (bad) return { reason: `the queryset uses ${bad}(), which cannot be locked with FOR UPDATE` };
    return { edits: [insert(query.endIndex, lockCall(query))], evaluatedAt: binding.statement, model: queryModel(query) };
  }
  if (fnNode.type === "attribute" && fnNode.text.endsWith("get_object")) {
    return { reason: `\`${binding.name}\` comes from get_object(): lock it in get_queryset() (select_for_update(), inside a transaction), which no single edit here can do` };
  }
  return { reason: `\`${binding.name}\` is not fetched by a query the fixer recognises (\`${fnNode.text}()\`)` };
}

/** Is `node` inside a `with …atomic(…)` block of `fn`, or is `fn` decorated with `atomic`? Returns the innermost such `with` statement, `fn` for the decorator, or null. */
export function enclosingAtomic(fn: SyntaxNode, node: SyntaxNode, transactionNames: readonly string[] = []): SyntaxNode | null {
  const isAtomic = (expr: string) => /(^|\.)atomic$/.test(expr) || transactionNames.some((t) => expr === t || t.endsWith(`.${expr}`));
  for (let n = node.parent; n && n !== fn; n = n.parent) {
    if (n.type !== "with_statement") continue;
    const items = walk(n.namedChildren.find((c) => c.type === "with_clause") ?? n).filter((c) => c.type === "with_item");
    if (items.some((item) => {
      const v = item.childForFieldName("value");
      const call = v?.type === "as_pattern" ? v.namedChildren[0] : v;
      return call?.type === "call" && isAtomic(call.childForFieldName("function")!.text);
    })) return n;
  }
  const decorated = fn.parent?.type === "decorated_definition" ? fn.parent : null;
  if (decorated?.namedChildren.some((d) => d.type === "decorator" && isAtomic(d.text.replace(/^@\s*/, "").replace(/\(.*$/s, "").trim()))) return fn;
  return null;
}

/** Identifier `name` read or written in `node`. */
export function mentions(node: SyntaxNode, name: string): boolean {
  return walk(node).some((n) => n.type === "identifier" && n.text === name);
}

/** The last statement of `block` that mentions `name`, at or after `from`. */
export function lastMention(block: SyntaxNode, from: SyntaxNode, name: string): SyntaxNode {
  let last = from;
  for (const s of block.namedChildren) if (isStatement(s) && s.startIndex >= from.startIndex && mentions(s, name)) last = s;
  return last;
}
