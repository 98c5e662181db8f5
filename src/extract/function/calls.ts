/**
 * Calls no other recogniser knows: constructors (a new instance, unless a serializer, form,
 * error or response), and call events for helpers, `self` methods and other code, which the
 * project stage resolves into interprocedural summaries.
 */
import { dottedName, positionalArguments } from "../syntax.js";
import { RESPONSE_FACTORIES, TRIVIAL_CALLS } from "../vocabulary.js";
import { type CallSite, type MethodCallSite, OTHER, type Recogniser, type Value } from "./builder.js";

/** Methods of builtins and validation that never touch the database or decide access. */
const TRIVIAL_METHODS = /^(is_valid|get|items|keys|values|append|extend|format|join|split|strip|lower|upper|startswith|endswith|encode|decode)$/;

/** `Invoice(...)`: a new, unsaved instance. */
export const constructorCall: Recogniser<CallSite> = {
  recognise: ({ b, name, args }) => {
    if (!/^[A-Z]/.test(name) || RESPONSE_FACTORIES.has(name) || TRIVIAL_CALLS.has(name)) return null;
    b.pushArgs(args);
    if (/(Serializer|Form|FormSet|Error|Exception|Response)$/.test(name)) return OTHER;
    return { kind: "new", model: name };
  },
};

/** `helper(request, inv)`: what a function call no recogniser knows is. */
export function functionCall({ b, call, name, args, scopes, guard }: CallSite): Value {
  b.pushArgs(args);
  if (TRIVIAL_CALLS.has(name) || RESPONSE_FACTORIES.has(name)) return OTHER;
  return b.emitCall(call, name, args, scopes, guard);
}

/**
 * `self.get_object()` in a class-based view: the row the view acts on, fetched without a lock
 * (DRF's runs the object permission checks on it). The project stage names its model from the
 * view's `queryset` or `model`.
 */
export const viewObjectFetch: Recogniser<MethodCallSite> = {
  names: ["get_object"],
  recognise: ({ b, call, fn, args, receiver }) => {
    if (fn.text !== "self.get_object" || receiver.type !== "identifier" || positionalArguments(args).length > 0) return null;
    b.pushArgs(args);
    const query = { model: null, source: "self.get_object()", filterFields: [], filterRefsUser: false, locked: false };
    const event = b.emitFetch(call, query, true, call.startIndex);
    return { kind: "fetch", event, query, single: true };
  },
};

/** `self.helper(...)`, resolved later against the class and its bases. */
export const selfMethodCall: Recogniser<MethodCallSite> = {
  recognise: ({ b, call, fn, name, args, receiver, scopes, guard }) => {
    if (!fn.text.startsWith("self.") || receiver.type !== "identifier") return null;
    b.pushArgs(args);
    return b.emitCall(call, `self.${name}`, args, scopes, guard);
  },
};

/** `services.pay(inv)`: what a method call no recogniser knows is. */
export function methodCall({ b, call, fn, name, args, receiver, scopes, guard }: MethodCallSite): Value {
  b.push(receiver);
  b.pushArgs(args);
  if (TRIVIAL_CALLS.has(name) || TRIVIAL_METHODS.test(name)) return OTHER;
  const value = b.emitCall(call, dottedName(fn) ?? name, args, scopes, guard);
  const def = receiver.type === "identifier" ? b.defs[b.lookup(receiver.text) ?? -1] : undefined;
  if (value.kind === "call" && def) {
    value.event.receiverDef = def.id;
    if ((def.origin === "new-instance" || def.origin === "fetch") && def.query?.model) value.event.receiverClass = def.query.model;
  }
  return value;
}
