/**
 * A function's events as its caller's analysis sees them: each call to a function of the tree
 * replaced by what the callee's summary says it does (checks, writes, locks, slow work), calls
 * to unknown helpers judged by name, calls into unscanned modules of the project taken as slow
 * work, and the configuration's `check-helpers` turned into checks.
 */
import type { CallEvent, CheckEvent, FileFacts, FunctionEvent, FunctionFacts } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import { checkKindByName } from "../extract/vocabulary.js";
import type { CallGraph } from "./callGraph.js";
import type { ModelIndex } from "./models.js";
import type { ModuleIndex } from "./modules.js";
import type { HelperSummary } from "./summaries.js";
import { importTarget } from "./modules.js";

/** The parts of the project that resolving events needs. */
export interface EventLinks {
  index: ModuleIndex;
  calls: CallGraph;
  summaries: Map<string, Map<string, HelperSummary>>;
  models: ModelIndex;
}

/** A function's events with its calls resolved into the checks, writes and locks of the callees. */
export function resolveEvents(links: EventLinks, file: FileFacts, fn: FunctionFacts): FunctionEvent[] {
  const events: FunctionEvent[] = [];
  for (const event of fn.events) {
    // An exists() on a configured authorization model, filtered by the requesting user, is a membership check.
    if (event.type === "check" && event.kind === "exists" && event.query?.filterRefsUser && event.query.model && links.models.authzModels.has(event.query.model)) {
      events.push({ ...event, kind: "membership" });
      continue;
    }
    if (event.type !== "call") {
      events.push(event);
      continue;
    }
    const target = links.calls.targetOf(file, fn, event);
    const summary = target ? links.summaries.get(target.file.path)?.get(target.fn.name) : undefined;
    const resolved = resolveCall(event, target !== null, summary);
    // A call into a module of the project the scan cannot see (`gateway.charge()` from
    // `.payments`) may do anything, typically network I/O: treat it as slow work.
    if (!target && resolved.length === 1 && resolved[0] === event && callsUnscannedModule(links, file, event.callee)) {
      events.push({ type: "slow", pos: event.pos, site: event.site, what: event.callee });
    } else {
      events.push(...resolved);
    }
  }
  return events;
}

/**
 * The call goes into a module of the project that the scan did not read (`gateway.charge()`
 * from `.payments`, not in the scanned tree). A module the scan read whose callee was not
 * resolved (a class being instantiated, an attribute) is not this: its code is known.
 */
function callsUnscannedModule(links: EventLinks, file: FileFacts, callee: string): boolean {
  if (callee.startsWith("self.")) return false;
  const [head, ...rest] = callee.split(".");
  const target = importTarget(file, head!);
  if (!target || !(target.startsWith(".") || links.models.localPackages.has(target.split(".")[0]!))) return false;
  // `module.func` names a module; a bare imported name names a symbol of its module.
  const module = links.index.absolute(file, rest.length > 0 ? target : target.slice(0, Math.max(target.lastIndexOf("."), 0)) || target);
  return links.index.find(module) === null;
}

function resolveCall(event: CallEvent, resolved: boolean, summary: HelperSummary | undefined): FunctionEvent[] {
  const out: FunctionEvent[] = [];
  const base = { pos: event.pos, site: event.site };
  const guardingCondition = event.guard !== "raise-call";
  if (summary) {
    const kind = guardingCondition ? summary.returnsCheck : summary.raisesCheck;
    if (kind && AUTHZ_CHECK_KINDS.has(kind as CheckEvent["kind"])) {
      out.push({ type: "check", ...base, kind: kind as CheckEvent["kind"], scopes: event.scopes, guard: event.guard ?? "if", byName: false, onDefs: event.argDefs });
    }
    if (summary.lock) {
      out.push({ type: "fetch", ...base, def: event.resultDef, query: summary.lock, single: true, builtPos: event.pos, via: event.callee });
    }
    // `save_and_cleanup(image, instance=user)` saving its parameter whole: a full save of `user`.
    const savedWhole = savedArguments(event, summary);
    for (const def of savedWhole) {
      out.push({ type: "write", ...base, op: "save", defs: [def], targetDef: def, query: null, fFields: [], lookupFields: [], via: event.callee });
    }
    const write = summary.writes[0];
    if (write && savedWhole.length === 0) {
      const onReceiver = write.onSelf === true && event.receiverDef !== undefined;
      out.push({
        type: "write", ...base, op: write.op, defs: onReceiver ? [event.receiverDef!, ...event.argDefs] : event.argDefs, targetDef: onReceiver ? event.receiverDef! : null,
        query: write.query, fFields: [], lookupFields: write.lookupFields,
        ...(write.defaultFields ? { defaultFields: write.defaultFields } : {}), ...(onReceiver && write.setFields ? { setFields: write.setFields } : {}),
        ...(write.method ? { method: write.method } : {}), via: event.callee,
      });
    }
    // The helper's slow work (a gateway call, a loop of queries) widens the caller's window.
    if (summary.slow) out.push({ type: "slow", ...base, what: event.callee, ...(summary.io ? {} : { queriesOnly: true }) });
    if (out.length === 0) out.push(event);
    return out;
  }
  if (!resolved && event.scopes.length > 0) {
    // Unknown helpers are judged by their names; a helper defined in this file only by its body.
    const name = event.callee.split(".").pop() ?? "";
    const kind = checkKindByName(name, !guardingCondition);
    if (kind) {
      out.push({ type: "check", ...base, kind, scopes: event.scopes, guard: event.guard ?? "if", byName: true, onDefs: event.argDefs });
      return out;
    }
  }
  return [event];
}

/** The caller's variables passed where the callee saves its parameter with every field. */
function savedArguments(event: CallEvent, summary: HelperSummary): number[] {
  if (summary.savesWhole.length === 0 || !event.passed) return [];
  const out = new Set<number>();
  for (const { at, def } of event.passed) {
    if (summary.savesWhole.some((p) => p.index === at || p.name === at)) out.add(def);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Whether a call names a helper the configuration declares an authorization check
 * (`check-helpers`): a dotted entry (`myapp.auth.require_admin`) matches the callee with its
 * import resolved, a bare entry (`require_admin`) the called name.
 */
function callsDeclaredCheck(file: FileFacts, event: CallEvent, helpers: ReadonlySet<string>): boolean {
  if (helpers.size === 0 || event.scopes.length === 0) return false;
  const [head, ...rest] = event.callee.split(".");
  const resolved = [importTarget(file, head!) ?? head, ...rest].join(".");
  return helpers.has(rest.length > 0 ? rest[rest.length - 1]! : head!) || helpers.has(resolved) || helpers.has(event.callee);
}

/**
 * Resolved events with each call to a declared helper that decides a branch or may raise
 * turned into a check, whatever its name or body says (kept alongside the writes or locks its
 * body was resolved to; the bare call event is dropped). Calls already resolved to a check are
 * left as they are.
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
