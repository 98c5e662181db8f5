/**
 * Assignments: what each variable holds from here on (the request user, a queryset, a fetched
 * object, a new instance, a check's answer, something derived from other variables), the fields
 * written through `obj.field = ...`, and stores into containers that outlive the request.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { FunctionEvent, QueryShape } from "../facts.js";
import { normaliseField } from "../moduleFacts.js";
import { field, rootIdentifier, stringValue, unwrap } from "../syntax.js";
import type { FunctionBuilder, Value } from "./builder.js";
import { mentionsUser, modelOf } from "./querysets.js";
import { isRequestUser } from "./request.js";
import { emitStore, storeTarget } from "./stores.js";

export function visitAssignment(b: FunctionBuilder, node: SyntaxNode): void {
  const left = field(node, "left");
  const right = field(node, "right");
  if (!left || !right) return b.pushChildren(node);
  if (left.type === "identifier") {
    assign(b, left.text, right);
    return;
  }
  if ((left.type === "pattern_list" || left.type === "tuple_pattern") && left.namedChildren[0]?.type === "identifier") {
    // obj, created = X.objects.get_or_create(...)
    const value = b.evaluate(right);
    const first = left.namedChildren[0];
    if (first) b.define(first.text, value.kind === "new" ? "new-instance" : "fetch", node.startIndex, [], valueQuery(value));
    return;
  }
  if (left.type === "attribute" && /^self\.\w+$/.test(left.text)) {
    // self.invoice = get_object_or_404(...): tracked like a local for the rest of the method.
    recordAttributeWrite(b, left, right);
    assign(b, left.text, right);
    return;
  }
  if (left.type === "subscript") {
    const container = field(left, "value");
    const index = field(left, "subscript");
    const target = container ? storeTarget(b, container) : null;
    if (target) {
      if (index) b.push(index);
      emitStore(b, node, target, target === "session" && index ? stringValue(index) ?? undefined : undefined, right, null);
      return;
    }
  }
  b.push(right);
  if (left.type === "attribute") recordAttributeWrite(b, left, right);
  else if (!recordContainerWrite(b, left)) b.push(left);
}

/**
 * `obj.data[key] = value` or `obj.data[key] += 1` on a tracked object: the new field value is
 * the old one changed in place, a read-modify-write of `data`. Returns whether it was one.
 */
export function recordContainerWrite(b: FunctionBuilder, left: SyntaxNode): boolean {
  if (left.type !== "subscript") return false;
  let container: SyntaxNode | null = left;
  while (container?.type === "subscript") {
    const index = field(container, "subscript");
    if (index) b.push(index);
    container = field(container, "value");
  }
  if (container?.type !== "attribute") return false;
  const object = field(container, "object");
  const name = field(container, "attribute")?.text;
  const id = object?.type === "identifier" || (object && /^self\.\w+$/.test(object.text)) ? b.lookup(object!.text) : null;
  if (!name || id === null) return false;
  const fieldName = normaliseField(name);
  b.mutate(modelOf(b, object!), [fieldName], left);
  b.events.push({ type: "assign", pos: left.startIndex, site: b.ctx.lines.site(left), def: id, field: fieldName, value: left.text, literal: false, readModifyWrite: true });
  return true;
}

const LITERALS = new Set(["string", "integer", "float", "true", "false", "none"]);

/**
 * `obj.field = value` (`augmented`: `obj.field += value`): the field is mutable, on obj's model
 * when it is known, unless obj is a new instance being filled in; on a tracked object, an
 * assign event.
 */
export function recordAttributeWrite(b: FunctionBuilder, left: SyntaxNode, value: SyntaxNode, augmented = false): void {
  const name = field(left, "attribute")?.text;
  const object = field(left, "object");
  if (!name || !object) return;
  const fieldName = normaliseField(name);
  const id = object.type === "identifier" || /^self\.\w+$/.test(object.text) ? b.lookup(object.text) : null;
  // Filling in an object being created sets its fields once: it does not make them mutable.
  if (id === null || b.defs[id]?.origin !== "new-instance") b.mutate(modelOf(b, object), [fieldName], left, !augmented && isUser(b, unwrap(value)));
  if (id === null) return;
  const assigned = value.text.replace(/\s+/g, " ");
  const readsSelf = augmented || readsAttribute(value.text, left.text);
  b.events.push({
    type: "assign", pos: left.startIndex, site: b.ctx.lines.site(left), def: id, field: fieldName, value: assigned,
    literal: !augmented && isConstant(unwrap(value)), readModifyWrite: readsSelf,
  });
  // `if thread.category != category: thread.category = category` only sets what it compared.
  if (object.type !== "identifier" || augmented) return;
  for (const event of b.events) {
    if (event.type === "check" && event.subjectDef === id && event.field === fieldName && event.comparedTo === assigned) event.idempotent = true;
  }
}

/** `request.user`, `self.request.user`, a variable holding it. */
function isUser(b: FunctionBuilder, value: SyntaxNode): boolean {
  return (value.type === "identifier" || value.type === "attribute") && mentionsUser(b, value);
}

/** A literal, or a named constant (`PAID`, `Invoice.Status.PAID`): a value that does not depend on state. */
function isConstant(value: SyntaxNode): boolean {
  if (LITERALS.has(value.type)) return true;
  const last = value.type === "attribute" ? field(value, "attribute")?.text : value.type === "identifier" ? value.text : undefined;
  return last !== undefined && /^[A-Z][A-Z0-9_]*$/.test(last);
}

/** Does `text` read the attribute chain `chain` (`obj.n` in `obj.n + 1`, not in `obj.name`)? */
function readsAttribute(text: string, chain: string): boolean {
  for (let at = text.indexOf(chain); at >= 0; at = text.indexOf(chain, at + 1)) {
    const before = text[at - 1];
    const after = text[at + chain.length];
    if ((before === undefined || !/[\w.]/.test(before)) && (after === undefined || !/\w/.test(after))) return true;
  }
  return false;
}

function assign(b: FunctionBuilder, name: string, rightRaw: SyntaxNode): void {
  const right = unwrap(rightRaw);
  const pos = rightRaw.startIndex;
  if (isRequestUser(right) || (right.type === "call" && /^(self\.)?request\.auser$/.test(field(right, "function")?.text ?? ""))) {
    b.define(name, "request-user", pos, []);
    return;
  }
  if (right.type === "attribute") {
    const root = rootIdentifier(right);
    const rootDef = root ? b.lookup(root.text) : null;
    // `request.user.profile` / `inv.account`: a related object loaded lazily, without a lock.
    if (b.isRequestUserDef(rootDef) || /^(self\.)?request\.user\.\w+$/.test(right.text)) {
      b.define(name, "fetch", pos, rootDef !== null ? [rootDef] : [], { model: null, source: right.text, filterFields: [], filterRefsUser: true, locked: false });
      return;
    }
  }
  const value = b.evaluate(right);
  switch (value.kind) {
    case "queryset":
      b.define(name, "queryset", pos, value.defs, value.query, value.builtPos);
      return;
    case "fetch": {
      const id = b.define(name, "fetch", pos, [], value.query);
      if (value.event) value.event.def = id;
      if (value.maybeNone) b.defs[id]!.maybeNone = true;
      return;
    }
    case "check":
      b.define(name, "other", pos, []);
      b.checkVars.set(name, value.events);
      return;
    case "new":
      b.define(name, "new-instance", pos, b.referencedDefs(right), value.model === null ? undefined : { model: value.model, source: value.model, filterFields: [], filterRefsUser: false, locked: false });
      return;
    case "call": {
      value.event.resultDef = b.define(name, "derived", pos, value.event.argDefs);
      b.checkVars.set(name, [value.event]);
      return;
    }
    default: {
      const from = b.referencedDefs(right);
      if (right.type === "identifier" && from.length === 1) {
        const source = b.defs[from[0]!]!;
        b.define(name, source.origin, pos, from, source.query);
      } else {
        b.define(name, from.length > 0 ? "derived" : "other", pos, from);
      }
    }
  }
}

function valueQuery(value: Value): QueryShape | undefined {
  if (value.kind === "queryset" || value.kind === "fetch") return value.query;
  // `obj, created = X.objects.select_for_update().get_or_create(...)`: the row, locked or not, as the write read it.
  const write = "event" in value ? (value as { event: FunctionEvent }).event : undefined;
  if (write?.type === "write" && write.op === "get_or_create" && write.query) return write.query;
  return undefined;
}
