/**
 * Session and cache: reads of a session key (a check on state the request carries), and stores
 * that outlive the request (session keys, `cache.set`, module-level and class-level containers)
 * with the check or call whose answer they keep.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { CheckKind, StoreEvent } from "../facts.js";
import { dottedName, positionalArguments, stringValue } from "../syntax.js";
import { type FunctionBuilder, type MethodCallSite, OTHER, type Recogniser, type Value } from "./builder.js";
import { isRequestSession } from "./request.js";

/** `request.session.get("key")` deciding a branch: a session check. */
export const sessionRead: Recogniser<MethodCallSite> = {
  names: ["get", "pop"],
  recognise: ({ b, call, args, receiver, scopes, guard }) => {
    if (!isRequestSession(receiver)) return null;
    const key = positionalArguments(args)[0];
    const keyText = key ? stringValue(key) : null;
    b.pushArgs(args);
    if (keyText !== null && (scopes !== null || guard === null)) return b.emitCheck(call, "session", scopes, guard, { byName: false, key: keyText });
    return OTHER;
  },
};

/** `cache.set(key, value)`, `caches["default"].set(...)`. */
export const cacheStore: Recogniser<MethodCallSite> = {
  names: ["set"],
  recognise: ({ b, call, args, receiver }) => {
    if (!/(^|\.)(cache|caches\[[^\]]*\])$/.test(receiver.text)) return null;
    const [, value] = positionalArguments(args);
    b.push(receiver);
    return emitStore(b, call, "cache", undefined, value ?? null, args);
  },
};

/**
 * What a subscript assignment stores into, when it outlives the request: the session, a
 * module-level name (not a local), or a class attribute (`self.__class__._cache`, `cls._cache`).
 */
export function storeTarget(b: FunctionBuilder, container: SyntaxNode): string | null {
  if (isRequestSession(container)) return "session";
  if (container.type === "identifier") return b.lookup(container.text) === null && !b.facts.params.includes(container.text) ? container.text : null;
  const name = dottedName(container);
  if (name && /^(self\.__class__|cls|type\(self\))\.\w+$/.test(name)) return `class:${name.split(".").pop()}`;
  if (name && b.site.className && name.startsWith(`${b.site.className.split(".").pop()}.`)) return `class:${name.split(".").pop()}`;
  return null;
}

/** Records a store; the value is evaluated here so a check inside it is seen once. */
export function emitStore(b: FunctionBuilder, node: SyntaxNode, target: string, key: string | undefined, value: SyntaxNode | null, rest: SyntaxNode | null): Value {
  let valueCheck: CheckKind | null = null;
  let valueCallee: string | null = null;
  if (value) {
    const held = value.type === "identifier" ? b.checkVars.get(value.text) : undefined;
    const evaluated = held ? { kind: "check" as const, events: held } : b.evaluate(value);
    const events = evaluated.kind === "check" ? evaluated.events : evaluated.kind === "call" ? [evaluated.event] : [];
    for (const event of events) {
      if (event.type === "check") valueCheck ??= event.kind;
      else valueCallee ??= event.callee;
    }
  }
  if (rest && !value) b.pushArgs(rest);
  const event: StoreEvent = { type: "store", pos: node.startIndex, site: b.ctx.lines.site(node), target, valueCheck, valueCallee };
  if (key !== undefined) event.key = key;
  b.events.push(event);
  return OTHER;
}
