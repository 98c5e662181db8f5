/**
 * Expression evaluation: variables holding querysets or fetched objects, ORM chains, indexing a
 * queryset, and calls (after `sync_to_async(f)(...)` is seen through) classified by callee.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { GuardKind, Span } from "../facts.js";
import { mutatedByCall } from "../moduleFacts.js";
import { dottedName, field, positionalArguments, unwrap } from "../syntax.js";
import { type FunctionBuilder, OTHER, type Value } from "./builder.js";
import { classifyCall } from "./callees.js";
import { modelOf, ormBase } from "./querysets.js";

export function evaluateExpression(b: FunctionBuilder, raw: SyntaxNode, scopes: Span[] | null, guard: GuardKind | null): Value {
  const node = unwrap(raw);
  if (node.type === "subscript") return evaluateSubscript(b, node);
  if (node.type === "identifier") {
    const id = b.lookup(node.text);
    const def = id === null ? null : b.defs[id];
    if (def?.origin === "queryset" && def.query) return { kind: "queryset", query: def.query, builtPos: def.pos, defs: [def.id] };
    if (def?.origin === "fetch" && def.query) return { kind: "fetch", event: null, query: def.query, single: true };
    return OTHER;
  }
  if (node.type === "attribute") {
    const chain = ormBase(b, node);
    if (chain) return { kind: "queryset", query: chain.query, builtPos: node.startIndex, defs: chain.defs };
    b.push(node);
    return OTHER;
  }
  if (COMPREHENSIONS.has(node.type)) return evaluateComprehension(b, node);
  if (node.type !== "call") {
    b.push(node);
    return OTHER;
  }
  return evaluateCall(b, node, scopes, guard);
}

const COMPREHENSIONS = new Set(["list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression"]);

/** `{r.id for r in qs}`: iterating a queryset evaluates it, a fetch of its rows. */
function evaluateComprehension(b: FunctionBuilder, node: SyntaxNode): Value {
  for (const part of node.namedChildren) {
    if (part.type !== "for_in_clause") {
      b.push(part);
      continue;
    }
    const right = field(part, "right");
    const value = right ? b.evaluate(right) : OTHER;
    if (value.kind === "queryset") b.emitFetch(part, value.query, false, value.builtPos);
  }
  return OTHER;
}

/** `qs[0]` fetches one row; `qs[:10]` is still a queryset. */
function evaluateSubscript(b: FunctionBuilder, node: SyntaxNode): Value {
  const value = field(node, "value");
  const index = field(node, "subscript");
  if (!value) return OTHER;
  const inner = b.evaluate(value);
  if (index) b.push(index);
  // `qs.aggregate(Sum("amount"))["amount__sum"]`: still the answer of the aggregate check.
  if (inner.kind === "check") return inner;
  if (inner.kind !== "queryset") return OTHER;
  if (index?.type === "slice") return inner;
  const event = b.emitFetch(node, inner.query, true, inner.builtPos);
  return { kind: "fetch", event, query: inner.query, single: true };
}

function evaluateCall(b: FunctionBuilder, node: SyntaxNode, scopes: Span[] | null, guard: GuardKind | null): Value {
  const fn = field(node, "function");
  const args = field(node, "arguments");
  if (!fn) return OTHER;
  const mutated = mutatedByCall(node);
  if (mutated.length > 0) {
    const target = fn.type === "attribute" ? field(fn, "object") : positionalArguments(args)[0];
    b.mutate(target ? modelOf(b, target) : null, mutated, node);
  }
  // sync_to_async(obj.save)() / sync_to_async(helper)(...)
  if (fn.type === "call") {
    const wrapper = dottedName(field(fn, "function") ?? fn) ?? "";
    const wrapped = positionalArguments(field(fn, "arguments"))[0];
    if (/(^|\.)(sync_to_async|database_sync_to_async)$/.test(wrapper) && wrapped) {
      b.pushArgs(args);
      return classifyCall(b, wrapped, node, args, scopes, guard);
    }
    b.push(fn);
    b.pushArgs(args);
    return OTHER;
  }
  return classifyCall(b, fn, node, args, scopes, guard);
}
