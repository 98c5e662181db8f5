/**
 * ORM calls: queryset methods (builders, `select_for_update`, fetches, existence checks,
 * writes, custom queryset methods), `get_object_or_404` and friends, `len`/`list` of a
 * queryset, instance saves and deletes, related-manager writes and `refresh_from_db`.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { GuardKind, QueryShape, Span, WriteEvent } from "../facts.js";
import { normaliseField } from "../moduleFacts.js";
import { dottedName, keywordArguments, positionalArguments, stringValue } from "../syntax.js";
import {
  EXISTENCE_METHODS, FETCH_FUNCTIONS, INSTANCE_WRITES, M2M_WRITES, QUERYSET_BUILDERS, QUERYSET_WRITES, SINGLE_FETCHES,
} from "../vocabulary.js";
import { existenceCheck } from "./authzChecks.js";
import { type CallSite, type FunctionBuilder, type MethodCallSite, OTHER, type Recogniser, type Value } from "./builder.js";
import { MANAGER_CREATES, type QuerysetBase, argumentsMentionUser, mayBeCustomQuerysetMethod, modelRooted, ormBase, refine } from "./querysets.js";
import { isRequestUser } from "./request.js";

/** Any method called on a queryset or manager: `Invoice.objects.filter(...)`, `qs.get()`, `inv.items.add(x)`. */
export const ormMethod: Recogniser<MethodCallSite> = {
  recognise: ({ b, call, name, args, receiver, scopes, guard }) => {
    const base = ormBase(b, receiver);
    return base ? querysetMethod(b, call, name, args, base, scopes, guard) : null;
  },
};

function querysetMethod(
  b: FunctionBuilder, call: SyntaxNode, method: string, args: SyntaxNode | null, base: QuerysetBase, scopes: Span[] | null, guard: GuardKind | null,
): Value {
  const { query: baseQuery, defs: baseDefs, builtPos } = base;
  b.pushArgs(args);
  if (method === "select_for_update") return { kind: "queryset", query: { ...baseQuery, locked: true }, builtPos, defs: baseDefs };
  if (QUERYSET_BUILDERS.has(method)) return { kind: "queryset", query: refine(b, baseQuery, args), builtPos, defs: [...baseDefs, ...b.referencedDefs(args)] };
  if (M2M_WRITES.has(method) && (baseDefs.length > 0 || baseQuery.filterRefsUser)) {
    // inv.items.add(x): writes the relation of `inv`.
    return relationWritten(b, b.emitWrite(call, "m2m", [...baseDefs, ...b.referencedDefs(args)], baseDefs[0] ?? null, baseQuery), args, method);
  }
  // update()/create() keywords are values, not filters; only lookups narrow the rows.
  const op = Object.hasOwn(QUERYSET_WRITES, method) ? QUERYSET_WRITES[method] : undefined;
  const query = op && op !== "get_or_create" ? baseQuery : refine(b, baseQuery, args);
  if (SINGLE_FETCHES.has(method)) {
    const event = b.emitFetch(call, query, true, builtPos);
    return { kind: "fetch", event, query, single: true, maybeNone: /^a?(first|last)$/.test(method) };
  }
  if (EXISTENCE_METHODS.has(method)) return existenceCheck(b, call, query, method.replace(/^a/, ""), scopes, guard);
  // `qs.aggregate(Sum("amount"))`: a total over the rows, tested against a limit like a count.
  if (method === "aggregate" || method === "aaggregate") return existenceCheck(b, call, query, "aggregate", scopes, guard);
  if (op) {
    const keywords = keywordArguments(args);
    const write = b.emitWrite(call, op, b.closure([...baseDefs, ...b.referencedDefs(args)]), null, query);
    // `**options` may carry ignore_conflicts (set where the database supports it): given the benefit of the doubt.
    const splat = args?.namedChildren.some((a) => a.type === "dictionary_splat") === true;
    if (op === "bulk" && (splat || ["ignore_conflicts", "update_conflicts"].some((k) => keywords.get(k)?.text === "True"))) write.event.ignoreConflicts = true;
    // `bulk_update()` changes rows that exist and inserts none: rules that need an insert tell them apart.
    if (op === "bulk") write.event.method = method.replace(/^a(?=bulk_)/, "");
    if (op === "update") {
      for (const [key, value] of keywords) if (/\bF\(/.test(value.text)) write.event.fFields.push(normaliseField(key));
      write.event.setFields = [...keywords.keys()].map(normaliseField);
    }
    // Lookup keywords of get_or_create, or the fields a create() sets (a unique one makes the database decide).
    if (op === "get_or_create" || op === "create") {
      write.event.lookupFields = [...keywords.keys()].filter((k) => k !== "defaults" && k !== "create_defaults").map(normaliseField);
      const maybeNull = [...keywords].filter(([, value]) => value.type === "none" || (value.type === "identifier" && b.noneDefaults.has(value.text))).map(([key]) => normaliseField(key));
      if (maybeNull.length > 0) write.event.maybeNullFields = maybeNull;
    }
    if (op === "get_or_create") {
      write.event.method = method.replace(/^a(?=(get|update)_or_create$)/, "");
      const defaults = [keywords.get("defaults"), keywords.get("create_defaults")].flatMap((d) => (d ? dictStringKeys(d) : []));
      if (defaults.length > 0) write.event.defaultFields = defaults.map(normaliseField);
      if (splat) write.event.openLookup = true;
    }
    return write;
  }
  if (method === "in_bulk" || method === "iterator") {
    const event = b.emitFetch(call, query, false, builtPos);
    return { kind: "fetch", event, query, single: false };
  }
  if (MANAGER_CREATES.has(method)) return b.emitWrite(call, "create", b.referencedDefs(args), null, baseQuery);
  // Any other method of a manager or queryset is taken to be a custom one returning a queryset.
  // (Only on `Model.objects` chains: a related object's own methods are not querysets.)
  if (mayBeCustomQuerysetMethod(method) && modelRooted(baseQuery)) {
    return { kind: "queryset", query: { ...query, custom: [...(query.custom ?? []), method] }, builtPos, defs: [...baseDefs, ...b.referencedDefs(args)] };
  }
  return OTHER;
}

/** `get_object_or_404(Model, pk=...)`, `get_list_or_404(qs, ...)`: a fetch, of the model or queryset passed first. */
export const fetchFunction: Recogniser<CallSite> = {
  names: FETCH_FUNCTIONS,
  recognise: ({ b, call, name, args }) => {
    const [first, ...rest] = positionalArguments(args);
    let query: QueryShape = { model: null, source: "?", filterFields: [], filterRefsUser: false, locked: false };
    let builtPos = call.startIndex;
    if (first) {
      const inner = b.evaluate(first);
      if (inner.kind === "queryset") {
        query = inner.query;
        builtPos = inner.builtPos;
      } else {
        const model = dottedName(first)?.split(".").pop() ?? null;
        query = { ...query, model, source: model ?? first.text };
      }
    }
    query = refine(b, query, args);
    for (const arg of rest) b.push(arg);
    const single = !name.includes("list");
    const event = b.emitFetch(call, query, single, builtPos);
    return { kind: "fetch", event, query, single };
  },
};

/** `list(qs)`, `set(qs)`, `tuple(qs)`, `sorted(qs)` evaluate a queryset; `len(qs)` and `bool(qs)` ask whether it has rows. */
const EVALUATING = new Set(["list", "set", "frozenset", "tuple", "sorted"]);

const COMPREHENSION = new Set(["generator_expression", "list_comprehension", "set_comprehension", "dictionary_comprehension"]);

export const sizedQueryset: Recogniser<CallSite> = {
  names: ["len", "bool", ...EVALUATING],
  recognise: ({ b, call, name, args, scopes, guard }) => {
    // `set(a.x for a in qs)` (the call's arguments are the generator) or `list([...])`: the
    // walk of the comprehension itself records the fetch.
    if (args && COMPREHENSION.has(args.type)) return null;
    const arg = positionalArguments(args)[0];
    if (arg && COMPREHENSION.has(arg.type)) return null;
    const inner = arg ? b.evaluate(arg) : OTHER;
    if (inner.kind !== "queryset") return OTHER;
    if (EVALUATING.has(name)) {
      const event = b.emitFetch(call, inner.query, false, inner.builtPos);
      return { kind: "fetch", event, query: inner.query, single: false };
    }
    return existenceCheck(b, call, inner.query, name, scopes, guard);
  },
};

const SAVES = ["save", "asave"];

/** `Invoice(owner=user).save()` on one line: a create. */
export const constructedSave: Recogniser<MethodCallSite> = {
  names: SAVES,
  recognise: ({ b, call, args, receiver }) => {
    const made = receiver.type === "call" ? receiver.childForFieldName("function") : null;
    if (made?.type !== "identifier" || !/^[A-Z]/.test(made.text)) return null;
    const model = made.text;
    b.push(receiver);
    b.pushArgs(args);
    const write = b.emitWrite(call, "create", b.referencedDefs(receiver), null, { model, source: model, filterFields: [], filterRefsUser: false, locked: false });
    write.event.lookupFields = [...keywordArguments(receiver.childForFieldName("arguments")).keys()].map(normaliseField);
    return write;
  },
};

/** `form.save(commit=False)` builds an instance without touching the database: one being created, filled in before its save. */
export const uncommittedSave: Recogniser<MethodCallSite> = {
  names: SAVES,
  recognise: ({ b, args }) => {
    if (keywordArguments(args).get("commit")?.text !== "False") return null;
    b.pushArgs(args);
    return { kind: "new", model: null };
  },
};

/** `inv.save()`, `inv.delete()` on a tracked variable: a create for a new instance, the serializer's instance for a serializer. */
export const instanceWrite: Recogniser<MethodCallSite> = {
  names: Object.keys(INSTANCE_WRITES),
  recognise: ({ b, call, name, args, receiver, rootDef }) => {
    if (rootDef === null) return null;
    b.pushArgs(args);
    const op = INSTANCE_WRITES[name]!;
    const def = b.defs[rootDef]!;
    if (receiver.type === "identifier" && def.origin === "new-instance" && op === "save") {
      return b.emitWrite(call, "create", b.closure(def.from), null, def.query ?? null);
    }
    if (receiver.type === "identifier" && def.origin === "derived") {
      // serializer.save() / form.save(): writes the instance the serializer was built from.
      return b.emitWrite(call, op === "save" ? "serializer-save" : "delete", b.closure([rootDef]), null, null);
    }
    const written = b.emitWrite(call, op, [rootDef], rootDef, null);
    const updateFields = op === "save" ? stringList(keywordArguments(args).get("update_fields")) : null;
    if (updateFields) written.event.setFields = updateFields.map(normaliseField);
    return written;
  },
};

/** The string keys of a literal dict (`{"role": "member"}`), or of a `dict(role=...)` call. */
function dictStringKeys(node: SyntaxNode): string[] {
  if (node.type === "dictionary") return node.namedChildren.flatMap((pair) => (pair.type === "pair" ? [stringValue(pair.childForFieldName("key")!)].filter((k): k is string => k !== null) : []));
  if (node.type === "call" && node.childForFieldName("function")?.text === "dict") return [...keywordArguments(node.childForFieldName("arguments")).keys()];
  return [];
}

/** The strings of a literal list or tuple (`["status", "paid_at"]`); null for anything computed. */
function stringList(node: SyntaxNode | undefined): string[] | null {
  if (!node || (node.type !== "list" && node.type !== "tuple")) return null;
  const values = node.namedChildren.map((item) => stringValue(item));
  return values.every((v): v is string => v !== null) ? values : null;
}

/** `obj.refresh_from_db()` re-reads a tracked object (locked with `from_queryset=...select_for_update()`), or the request user. */
export const refreshFromDb: Recogniser<MethodCallSite> = {
  names: ["refresh_from_db", "arefresh_from_db"],
  recognise: ({ b, call, args, receiver, rootDef, receiverIsUser }) => {
    if (receiverIsUser || isRequestUser(receiver)) {
      b.events.push({ type: "refresh", pos: call.startIndex, site: b.ctx.lines.site(call), def: rootDef ?? -1, locked: false });
    } else if (rootDef !== null && receiver.type === "identifier") {
      const fromQueryset = keywordArguments(args).get("from_queryset");
      const locked = fromQueryset ? /select_for_update/.test(fromQueryset.text) : false;
      b.events.push({ type: "refresh", pos: call.startIndex, site: b.ctx.lines.site(call), def: rootDef, locked });
    }
    b.pushArgs(args);
    return OTHER;
  },
};

/** `instance.tags.add(tag)` on a tracked variable the ORM chain does not treat as a fetched row (a parameter, a derived value). */
export const relationWrite: Recogniser<MethodCallSite> = {
  names: M2M_WRITES,
  recognise: ({ b, call, name, args, receiver, rootDef }) => {
    if (rootDef === null || receiver.type !== "attribute") return null;
    b.pushArgs(args);
    const relation: QueryShape = { model: null, source: receiver.text, filterFields: [], filterRefsUser: false, locked: false };
    return relationWritten(b, b.emitWrite(call, "m2m", [rootDef, ...b.referencedDefs(args)], rootDef, relation), args, name);
  },
};

/** Notes on a relation write which method it is (`add`, `remove`) and whether it adds or removes the requesting user. */
function relationWritten(b: FunctionBuilder, written: { kind: "other"; event: WriteEvent }, args: SyntaxNode | null, method: string): Value {
  written.event.method = method.replace(/^a(?=(add|remove|clear|set)$)/, "");
  if (argumentsMentionUser(b, args)) written.event.argsRefUser = true;
  return written;
}

/** Any other `x.save()`: a serializer's or form's save. */
export const otherSave: Recogniser<MethodCallSite> = {
  names: SAVES,
  recognise: ({ b, call, args }) => {
    b.pushArgs(args);
    return b.emitWrite(call, "serializer-save", [], null, null);
  },
};
