/**
 * Functions the configuration declares authorization checks (`check-helpers`): a call to one
 * of them that decides a branch or may raise is a check, whatever its name or body says.
 */
import type { CallEvent, CheckEvent, FileFacts, FunctionEvent, FunctionFacts } from "../extract/facts.js";

/**
 * Whether a call names a declared helper: a dotted entry (`myapp.auth.require_admin`) matches
 * the callee with its import resolved, a bare entry (`require_admin`) the called name.
 */
export function callsDeclaredCheck(file: FileFacts, event: CallEvent, helpers: ReadonlySet<string>): boolean {
  if (helpers.size === 0 || event.scopes.length === 0) return false;
  const [head, ...rest] = event.callee.split(".");
  const resolved = [file.imports[head!] ?? head, ...rest].join(".");
  return helpers.has(rest.length > 0 ? rest[rest.length - 1]! : head!) || helpers.has(resolved) || helpers.has(event.callee);
}

/**
 * A function's resolved events with each call to a declared helper turned into a check (kept
 * alongside the writes or locks its body was resolved to; the bare call event is dropped).
 * Calls already resolved to a check are left as they are.
 */
export function withDeclaredChecks(file: FileFacts, fn: FunctionFacts, events: FunctionEvent[], helpers: ReadonlySet<string>): FunctionEvent[] {
  if (helpers.size === 0) return events;
  let out = events;
  for (const call of fn.events) {
    if (call.type !== "call" || !callsDeclaredCheck(file, call, helpers)) continue;
    // Events resolved from a call keep its position.
    if (out.some((e) => e.pos === call.pos && e.type === "check")) continue;
    const check: CheckEvent = {
      type: "check", pos: call.pos, site: call.site, kind: "helper", scopes: call.scopes, guard: call.guard ?? "if", byName: false, onDefs: call.argDefs,
    };
    const rest = out.filter((e) => e !== call);
    const index = rest.findIndex((e) => e.pos >= call.pos);
    out = index < 0 ? [...rest, check] : [...rest.slice(0, index), check, ...rest.slice(index)];
  }
  return out;
}
