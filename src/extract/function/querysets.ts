/**
 * What an ORM expression denotes: the queryset a chain of builders over `Model.objects`, a
 * queryset variable or a related manager stands for (model, filter fields, lock), and the
 * model an expression's rows belong to.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { QueryShape } from "../facts.js";
import { normaliseField } from "../moduleFacts.js";
import { dottedName, field, positionalArguments, rootIdentifier, unwrap } from "../syntax.js";
import { EXISTENCE_METHODS, MANAGER_ATTRS, QUERYSET_BUILDERS, QUERYSET_WRITES, SINGLE_FETCHES } from "../vocabulary.js";
import type { FunctionBuilder } from "./builder.js";
import { isRequestUser } from "./request.js";

/** A queryset expression: its shape, the definitions it was built from, and where it was built. */
export interface QuerysetBase {
  query: QueryShape;
  defs: number[];
  builtPos: number;
}

/** Manager methods that create a row (`User.objects.create_user(...)`). */
export const MANAGER_CREATES = new Set(["create_user", "create_superuser", "acreate_user", "acreate_superuser"]);
/** Queryset methods that return something other than a queryset. */
const NOT_QUERYSETS = new Set(["aggregate", "aaggregate", "explain", "aexplain", "raw", "contains", "acontains", "as_manager", "get_prefetch_queryset"]);

/**
 * A method Django's QuerySet does not define to return something else, and not a private one:
 * on a chain rooted at a model's manager (`modelRooted`), a custom method returning a queryset.
 * The one test for both the middle of a chain and its last call.
 */
export function mayBeCustomQuerysetMethod(method: string): boolean {
  if (SINGLE_FETCHES.has(method) || EXISTENCE_METHODS.has(method) || Object.hasOwn(QUERYSET_WRITES, method) || MANAGER_CREATES.has(method) || NOT_QUERYSETS.has(method)) return false;
  return method !== "in_bulk" && !method.startsWith("_");
}

/** `Invoice.objects…` or a queryset built from it, not a related manager or `self.queryset`. */
export function modelRooted(query: QueryShape): boolean {
  return query.model !== null && query.source === query.model;
}

function unknownModel(source: string): QueryShape {
  return { model: null, source, filterFields: [], filterRefsUser: false, locked: false };
}

/** The ORM meaning of `receiver` when it denotes a queryset or manager, else null. */
export function ormBase(b: FunctionBuilder, receiver: SyntaxNode): QuerysetBase | null {
  // Walk down a chain of queryset builders iteratively (chains can be thousands long), then
  // fold them over the chain's root from the inside out.
  const builders: { method: string; args: SyntaxNode | null }[] = [];
  const visited: number[] = [];
  let node = unwrap(receiver);
  let root: QuerysetBase | null = null;
  let throughCustom = false;
  for (;;) {
    if (b.notOrm.has(node.id)) break;
    // `super().get_or_create(...)` in a custom manager: the parent manager, over the same rows as `self`.
    if (node.type === "call" && field(node, "function")?.text === "super" && inManagerClass(b)) {
      root = { query: unknownModel("self"), defs: [], builtPos: node.startIndex };
      break;
    }
    if (node.type !== "call") {
      root = ormRoot(b, node);
      break;
    }
    visited.push(node.id);
    const fn = field(node, "function");
    if (!fn || fn.type !== "attribute") break;
    const method = field(fn, "attribute")?.text ?? "";
    const inner = field(fn, "object");
    if (!inner) break;
    if (method === "get_queryset" && /^(self|super\(\))$/.test(inner.text)) {
      root = { query: unknownModel("self.get_queryset()"), defs: [], builtPos: node.startIndex };
      break;
    }
    // Custom manager/queryset methods (`Invoice.objects.payable()`) return querysets too, on a
    // chain rooted at a model's manager: known once the root is reached.
    const custom = !QUERYSET_BUILDERS.has(method);
    if (custom && !mayBeCustomQuerysetMethod(method)) break;
    throughCustom ||= custom;
    builders.push({ method, args: field(node, "arguments") });
    node = unwrap(inner);
  }
  if (root && throughCustom && !modelRooted(root.query)) root = null;
  if (!root) {
    for (const id of visited) b.notOrm.add(id);
    return null;
  }
  // One pass over every builder's arguments: folding them one by one copies the filter list
  // at each step, which is quadratic in the chain's length.
  const filterArgs: SyntaxNode[] = [];
  const defs = new Set(root.defs);
  let locked = root.query.locked;
  const custom = [...(root.query.custom ?? [])];
  for (let i = builders.length - 1; i >= 0; i--) {
    const { method, args } = builders[i]!;
    b.pushArgs(args);
    if (!QUERYSET_BUILDERS.has(method)) custom.push(method);
    if (method === "select_for_update") locked = true;
    else if (args) filterArgs.push(args);
    // filter(pk=inv.pk): the queryset denotes rows derived from `inv`.
    for (const id of b.referencedDefs(args)) defs.add(id);
  }
  const query: QueryShape = { ...refine(b, root.query, ...filterArgs), locked };
  if (custom.length > 0) query.custom = custom;
  return { query, defs: [...defs], builtPos: root.builtPos };
}

/** A method of a custom Manager or QuerySet (`class M(models.Manager)`, `class M(Manager.from_queryset(QS))`). */
function inManagerClass(b: FunctionBuilder): boolean {
  return b.site.classBases.some((base) => /(Manager|QuerySet)(\.from_queryset\([\w.]*\))?$/.test(base));
}

/** The start of an ORM chain: `Model.objects`, a queryset variable, a related manager. */
function ormRoot(b: FunctionBuilder, node: SyntaxNode): QuerysetBase | null {
  // Inside a custom Manager or QuerySet, `self` is the queryset (`return self.select_for_update()`).
  if (node.type === "identifier" && node.text === "self" && inManagerClass(b)) {
    return { query: unknownModel("self"), defs: [], builtPos: node.startIndex };
  }
  if (node.type === "identifier") {
    const id = b.lookup(node.text);
    const def = id === null ? null : b.defs[id];
    if (def?.origin === "queryset" && def.query) return { query: def.query, defs: [def.id], builtPos: def.pos };
    return null;
  }
  if (node.type !== "attribute") return null;
  const attr = field(node, "attribute")?.text ?? "";
  const object = field(node, "object");
  if (!object) return null;
  if (MANAGER_ATTRS.has(attr)) {
    const objectName = dottedName(object);
    if (objectName === "self.model" || objectName === "self.queryset.model") {
      return { query: unknownModel(objectName), defs: [], builtPos: node.startIndex };
    }
    if (objectName) {
      const model = objectName.split(".").pop()!;
      return { query: { model, source: model, filterFields: [], filterRefsUser: false, locked: false }, defs: [], builtPos: node.startIndex };
    }
    if (object.type === "call" && /get_user_model$/.test(dottedName(field(object, "function") ?? object) ?? "")) {
      return { query: { model: "User", source: "User", filterFields: [], filterRefsUser: false, locked: false }, defs: [], builtPos: node.startIndex };
    }
    return null;
  }
  if (node.text === "self.queryset") return { query: unknownModel("self.queryset"), defs: [], builtPos: node.startIndex };
  // Related managers: request.user.invoices, inv.items, user.groups
  const root = rootIdentifier(node);
  if (!root || object.type === "call") return null;
  const rootDef = b.lookup(root.text);
  const rootOrigin = rootDef === null ? null : b.defs[rootDef]?.origin;
  const fromUser = isRequestUser(object) || rootOrigin === "request-user";
  if (fromUser || rootOrigin === "fetch" || rootOrigin === "new-instance") {
    return {
      query: { model: null, source: node.text.replace(/^self\.request\./, "request."), filterFields: [], filterRefsUser: fromUser, locked: false },
      defs: rootDef !== null ? [rootDef] : [],
      builtPos: node.startIndex,
    };
  }
  return null;
}

/** Adds the filter keywords of a filter()/get()/exists() call to a query shape. */
export function refine(b: FunctionBuilder, query: QueryShape, ...argLists: (SyntaxNode | null)[]): QueryShape {
  const lists = argLists.filter((a): a is SyntaxNode => a !== null);
  if (lists.length === 0) return query;
  const fields = new Set(query.filterFields);
  let refsUser = query.filterRefsUser;
  // Lookups are the call's own keywords and those of `Q(...)` objects, not the keywords of other
  // calls in their values (`content_type=get_for_model(x, for_concrete_model=False)`).
  const stack: { node: SyntaxNode; lookup: boolean }[] = lists.map((node) => ({ node, lookup: true }));
  while (stack.length > 0) {
    const { node, lookup } = stack.pop()!;
    if (node.type === "keyword_argument") {
      const name = field(node, "name")?.text;
      if (name && lookup && name !== "defaults" && name !== "create_defaults") fields.add(normaliseField(name));
      const value = field(node, "value");
      if (value) stack.push({ node: value, lookup: false });
      continue;
    }
    if (node.type === "identifier" || node.type === "attribute") {
      if (mentionsUser(b, node)) refsUser = true;
      if (node.type === "identifier") continue;
    }
    const isQ = node.type === "call" && /^(\w+\.)*Q$/.test(field(node, "function")?.text ?? "");
    for (const child of node.namedChildren) stack.push({ node: child, lookup: isQ || (lookup && node.type !== "call") });
  }
  return { ...query, filterFields: [...fields].sort(), filterRefsUser: refsUser };
}

/** Does any positional argument of a call stand for the requesting user? */
export function argumentsMentionUser(b: FunctionBuilder, args: SyntaxNode | null): boolean {
  return positionalArguments(args).some((arg) => (arg.type === "identifier" || arg.type === "attribute") && mentionsUser(b, arg));
}

/** Does the expression stand for the requesting user (`request.user`, `request.user.id`, a variable holding it)? */
export function mentionsUser(b: FunctionBuilder, node: SyntaxNode): boolean {
  if (isRequestUser(node) || /^(self\.)?request\.user\b/.test(node.text)) return true;
  const root = node.type === "identifier" ? node : rootIdentifier(node);
  if (!root) return false;
  return b.isRequestUserDef(b.lookup(root.text));
}

/** The model class an expression's rows belong to, when the chain shows it; null otherwise. */
export function modelOf(b: FunctionBuilder, expression: SyntaxNode): string | null {
  let node: SyntaxNode | null = unwrap(expression);
  while (node) {
    if (node.type === "identifier") {
      if (node.text === "self" && b.site.className) return b.site.className.split(".").pop() ?? null;
      const id = b.lookup(node.text);
      return id === null ? null : b.defs[id]?.query?.model ?? null;
    }
    if (node.type === "attribute") {
      const object = field(node, "object");
      if (object && MANAGER_ATTRS.has(field(node, "attribute")?.text ?? "")) return dottedName(object)?.split(".").pop() ?? null;
      // inv.account: a related object, whose model the chain does not show.
      if (object?.type === "identifier") return null;
      node = object;
      continue;
    }
    if (node.type === "call") {
      const fn = field(node, "function");
      node = fn?.type === "attribute" ? field(fn, "object") : null;
      continue;
    }
    return null;
  }
  return null;
}
