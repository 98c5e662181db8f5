/**
 * Authorization checks: permission APIs and helpers named like checks (`has_perm`,
 * `can_edit`), group and membership queries, the request user's in-memory flags and role
 * attributes, reads of a fetched object's state, existence checks, view decorators, and the
 * clearing of ModelBackend's permission cache.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { CheckEvent, CheckKind, GuardKind, QueryShape, Span } from "../facts.js";
import { normaliseField } from "../moduleFacts.js";
import { dottedName, field, positionalArguments, span } from "../syntax.js";
import { USER_FLAG_ATTRS, checkKindByName, decoratorCheckKind, isKnownCheckApi } from "../vocabulary.js";
import { type CallSite, type FunctionBuilder, type MethodCallSite, OTHER, type Recogniser, type Value } from "./builder.js";
import { isRequestUser } from "./request.js";

const USER_ROLE_ATTRS = /^(role|roles|tier|plan|level|user_type|account_type|access_level|permission_level|is_\w+|can_\w+)$/;
const NOT_ROLE_ATTRS = new Set(["is_authenticated", "is_anonymous", "is_active"]);

/** `qs.exists()`, `len(qs)`, `if qs:`: an existence check, authorization when it asks about the user's groups or memberships. */
export function existenceCheck(b: FunctionBuilder, at: SyntaxNode, query: QueryShape, method: string, scopes: Span[] | null, guard: GuardKind | null): Value {
  // user.groups.filter(...).exists() and membership tables queried for the user are authorization.
  let kind: CheckKind = "exists";
  if (/\.groups$|^groups$/.test(query.source) && query.filterRefsUser) kind = "group";
  else if (/\.(user_permissions)$/.test(query.source)) kind = "perm";
  else if (query.model && query.filterRefsUser && /member|role|permission|grant|access|team|staff|admin/i.test(query.model)) kind = "membership";
  return b.emitCheck(at, kind, scopes, guard, { query, byName: false, method });
}

/** `del user._perm_cache` and its spellings: ModelBackend recomputes permissions on the next has_perm(). */
export function permCacheCleared(b: FunctionBuilder, at: SyntaxNode, def: number | null): void {
  b.events.push({ type: "refresh", pos: at.startIndex, site: b.ctx.lines.site(at), def: def ?? -1, locked: false, permCache: true });
}

/** The function names ModelBackend's cache attributes, so delattr()/__dict__.pop() there clears them. */
function clearsPermCache(b: FunctionBuilder, attribute?: SyntaxNode): boolean {
  b.permCacheNamed ??= /_(user_|group_)?perm_cache\b/.test(b.site.node.text);
  // A computed attribute name (`for attr in CACHES: delattr(user, attr)`) is taken as the caches.
  return b.permCacheNamed || (attribute !== undefined && attribute.type !== "string");
}

/** `delattr(user, "_perm_cache")`. */
export const permCacheDelattr: Recogniser<CallSite> = {
  names: ["delattr"],
  recognise: ({ b, call, args }) => {
    const [target, attribute] = positionalArguments(args);
    if (!clearsPermCache(b, attribute)) return null;
    permCacheCleared(b, call, target ? (target.type === "identifier" ? b.lookup(target.text) : b.chainDef(target)) : null);
    b.pushArgs(args);
    return OTHER;
  },
};

/** `user.__dict__.pop("_perm_cache", None)`. */
export const permCacheDictPop: Recogniser<MethodCallSite> = {
  names: ["pop"],
  recognise: ({ b, call, args, receiver }) => {
    if (!/\.__dict__$/.test(receiver.text) || !clearsPermCache(b, positionalArguments(args)[0])) return null;
    permCacheCleared(b, call, b.chainDef(receiver));
    b.pushArgs(args);
    return OTHER;
  },
};

/** `request.user.is_staff()`: a flag decided at authentication, not a check worth a call event. */
export const userFlagCall: Recogniser<MethodCallSite> = {
  names: USER_FLAG_ATTRS,
  recognise: ({ receiverIsUser }) => (receiverIsUser ? OTHER : null),
};

/** Permission APIs (`user.has_perm`) and helpers whose name says they check (`can_edit`, `check_owner`). */
export const checkByName: Recogniser<MethodCallSite> = {
  recognise: ({ b, call, fn, name, args, receiver, rootDef, receiverIsUser, scopes, guard }) => {
    const kind = checkKindByName(name, guard === "raise-call");
    if (!kind) return null;
    // has_perm() and friends answer a boolean: as a bare statement they guard nothing.
    const decides = guard === "raise-call" && isKnownCheckApi(name) && !/^check_/.test(name) ? null : scopes;
    if (decides === null && guard !== null && guard !== "raise-call") return null;
    b.pushArgs(args);
    const known = isKnownCheckApi(name) || receiverIsUser && /group|role|member/.test(name);
    if (fn.text.startsWith("self.") && !known) return b.emitCall(call, `self.${name}`, args, decides, guard);
    return b.emitCheck(call, kind, decides, guard, {
      onDefs: [...(rootDef !== null ? [rootDef] : []), ...b.argumentDefs(args)], byName: !known,
      receiver: receiver.text.replace(/^self\.request\./, "request."), method: name,
    });
  },
};

/** `user.check_password(...)`: a credential check, kept as a call for the credential rules. */
export const passwordCheck: Recogniser<MethodCallSite> = {
  names: ["check_password", "acheck_password"],
  recognise: ({ b, call, fn, name, args, scopes, guard }) => {
    b.pushArgs(args);
    return b.emitCall(call, dottedName(fn) ?? name, args, scopes, guard);
  },
};

/** A method of a fetched object deciding a branch (`if inv.is_payable():`) reads its state. */
export const objectStateMethod: Recogniser<MethodCallSite> = {
  recognise: ({ b, call, args, receiver, rootDef, scopes, guard }) => {
    if (rootDef === null || scopes === null || guard === "raise-call" || receiver.type !== "identifier" || b.defs[rootDef]?.origin !== "fetch") return null;
    b.pushArgs(args);
    return b.emitCheck(call, "state", scopes, guard, { subjectDef: rootDef, field: null, byName: false });
  },
};

/**
 * In-memory attributes of the request user that carry an authorization decision:
 * `is_staff`/`is_superuser` ("staff"), role-like fields and `profile.*` ("user-attr").
 */
export function userAttribute(b: FunctionBuilder, node: SyntaxNode): { kind: "staff" | "user-attr"; field: string } | null {
  // The attribute names after the user root, innermost last: request.user.profile.role → [role, profile].
  const names: string[] = [];
  let current: SyntaxNode | null = node;
  while (current && current.type === "attribute" && !isRequestUser(current)) {
    names.push(field(current, "attribute")?.text ?? "");
    current = field(current, "object");
  }
  if (!current || names.length === 0) return null;
  const isUser = isRequestUser(current) || (current.type === "identifier" && b.isRequestUserDef(b.lookup(current.text)));
  if (!isUser) return null;
  const first = names[names.length - 1]!;
  // The field read: the flag or role itself, or the profile's field (`profile.tier` → tier).
  if (USER_FLAG_ATTRS.has(first)) return { kind: "staff", field: first };
  if (first === "profile" && names.length > 1) return { kind: "user-attr", field: names[names.length - 2]! };
  if (USER_ROLE_ATTRS.test(first) && !NOT_ROLE_ATTRS.has(first)) return { kind: "user-attr", field: first };
  return null;
}

/** An attribute read on a fetched object: `inv.status`, `inv.owner.id`. */
export function stateSubject(b: FunctionBuilder, node: SyntaxNode): boolean {
  if (node.type !== "attribute") return false;
  const id = b.chainDef(node);
  // `self.inv` itself is the object, not a field of it.
  return id !== null && b.defs[id]?.origin === "fetch" && b.defs[id]!.name !== node.text;
}

/** Records the state check `node` (a `stateSubject`) makes, once per object and field of a condition. */
export function stateCheck(b: FunctionBuilder, node: SyntaxNode, scopes: Span[], guard: GuardKind | null, seen: Set<string>): CheckEvent | null {
  const id = b.chainDef(node)!;
  const name = b.defs[id]!.name;
  // The field read right after the object: `status` in inv.status or self.inv.status.code.
  const first = name.startsWith("self.") ? firstAttribute(node, 2) : firstAttribute(node);
  const key = `${id}:${first}`;
  if (!first || seen.has(key)) return null;
  seen.add(key);
  const value = b.emitCheck(node, "state", scopes, guard, { subjectDef: id, field: normaliseField(first), byName: false });
  return value.kind === "check" ? (value.events[0] as CheckEvent) : null;
}

/** `status` for `inv.status.code`: the attribute `depth` steps after the root variable. */
function firstAttribute(node: SyntaxNode, depth = 1): string | null {
  // Collected from the outermost attribute inwards: pushing keeps long chains linear.
  const names: string[] = [];
  let current: SyntaxNode | null = node;
  while (current && current.type === "attribute") {
    names.push(field(current, "attribute")?.text ?? "");
    current = field(current, "object");
  }
  return names[names.length - depth] ?? null;
}

/** A decorator that gates the whole view on a check (`@permission_required`, `@user_passes_test`) guards its body. */
export function decoratorCheck(b: FunctionBuilder, decorator: SyntaxNode, expression: SyntaxNode, body: SyntaxNode): void {
  const target = expression.type === "call" && /method_decorator$/.test(dottedName(field(expression, "function") ?? expression) ?? "")
    ? positionalArguments(field(expression, "arguments"))[0] ?? expression
    : expression;
  const callee = target.type === "call" ? field(target, "function") : target;
  const name = callee ? dottedName(callee) : null;
  if (!name) return;
  let kind = decoratorCheckKind(name);
  if (kind === "helper" && target.type === "call") {
    // user_passes_test(lambda u: u.is_staff) decides on in-memory flags only.
    const test = positionalArguments(field(target, "arguments"))[0];
    if (test?.type === "lambda" && !/\.(groups|has_perm|has_perms|profile|role)\b/.test(test.text) && /is_staff|is_superuser|is_active|is_authenticated/.test(test.text)) kind = "staff";
  }
  if (!kind) return;
  const fnSpan = span(b.site.node);
  b.events.push({
    type: "check", pos: decorator.startIndex, site: b.ctx.lines.site(decorator), kind,
    scopes: [[body.startIndex, fnSpan[1]]], guard: "decorator", byName: false,
  });
}
