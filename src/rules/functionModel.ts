/**
 * What a rule sees of one function: its events with calls to same-file helpers resolved into
 * the checks, writes and locks those helpers perform, and its transaction regions including
 * the implicit one `ATOMIC_REQUESTS` opens around views.
 */
import type {
  CallEvent, CheckEvent, FetchEvent, FileFacts, FunctionEvent, FunctionFacts, Region, SourceSite, Span, VariableDef, WriteEvent,
} from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import { checkKindByName } from "../extract/vocabulary.js";
import { type HelperSummary, type Project, resolveCallee, summaryOf } from "../project/buildProject.js";
import { findMethod } from "../project/classes.js";
import { withDeclaredChecks } from "./declaredChecks.js";
import type { UseKind } from "./types.js";

export interface CallSite {
  file: FileFacts;
  caller: FunctionFacts;
  event: CallEvent;
}

export interface FunctionModel {
  file: FileFacts;
  fn: FunctionFacts;
  events: FunctionEvent[];
  atomic: Region[];
  defs: VariableDef[];
  /** Calls to this function from elsewhere in the same file. */
  callers: CallSite[];
  /** The configuration's `check-helpers` the model was built with, for rules that build more models. */
  checkHelpers: ReadonlySet<string>;
}

const callerIndex = new WeakMap<Project, Map<string, CallSite[]>>();

/** Every resolved call in the project, by callee (`path\0name`), built once per project. */
export function callersOf(project: Project): Map<string, CallSite[]> {
  const known = callerIndex.get(project);
  if (known) return known;
  const callers = new Map<string, CallSite[]>();
  for (const file of project.files) {
    for (const fn of file.functions) {
      for (const event of fn.events) {
        if (event.type !== "call") continue;
        const target = resolveCallee(project, file, fn, event.callee);
        if (!target) continue;
        const key = `${target.file.path}\u0000${target.fn.name}`;
        const list = callers.get(key) ?? [];
        list.push({ file, caller: fn, event });
        callers.set(key, list);
      }
    }
  }
  callerIndex.set(project, callers);
  return callers;
}

/** A function's events with its calls resolved into the checks, writes and locks of the callees. */
function resolveEvents(project: Project, file: FileFacts, fn: FunctionFacts): FunctionEvent[] {
  const events: FunctionEvent[] = [];
  for (const event of fn.events) {
    // An exists() on a configured authorization model, filtered by the requesting user, is a membership check.
    if (event.type === "check" && event.kind === "exists" && event.query?.filterRefsUser && event.query.model && project.authzModels.has(event.query.model)) {
      events.push({ ...event, kind: "membership" });
      continue;
    }
    if (event.type !== "call") {
      events.push(event);
      continue;
    }
    const target = resolveCallee(project, file, fn, event.callee);
    const summary = target ? summaryOf(project, target.file, target.fn) : undefined;
    const resolved = resolveCall(event, target !== null, summary);
    // A call into a module of the project the scan cannot see (`gateway.charge()` from
    // `.payments`) may do anything, typically network I/O: treat it as slow work.
    if (!target && resolved.length === 1 && resolved[0] === event && callsLocalModule(project, file, event.callee)) {
      events.push({ type: "slow", pos: event.pos, site: event.site, what: event.callee });
    } else {
      events.push(...resolved);
    }
  }
  return events;
}

const permissionIndex = new WeakMap<Project, Map<string, CheckEvent[]>>();

/** Methods DRF runs after check_permissions()/check_object_permissions() on the same request. */
const DRF_WRITE_HOOKS = ["perform_create", "perform_update", "perform_destroy", "create", "update", "partial_update", "destroy"];

/**
 * Authorization checks made by the DRF permission classes of each routed view, keyed by the
 * view function or method they run before (`path\0name`). DRF evaluates them in initial()
 * and get_object(), before the handler, outside any transaction the handler opens.
 */
function permissionChecks(project: Project): Map<string, CheckEvent[]> {
  const known = permissionIndex.get(project);
  if (known) return known;
  const out = new Map<string, CheckEvent[]>();
  for (const endpoint of project.endpoints) {
    if (endpoint.permissionClasses.length === 0) continue;
    const checks: CheckEvent[] = [];
    for (const ref of endpoint.permissionClasses) {
      for (const method of ["has_permission", "has_object_permission"]) {
        const found = methodOfClass(project, ref, method);
        if (!found) continue;
        for (const event of resolveEvents(project, found.file, found.fn)) {
          if (event.type === "check" && AUTHZ_CHECK_KINDS.has(event.kind)) checks.push({ ...event, file: found.file.path });
        }
      }
    }
    if (checks.length === 0) continue;
    const targets = endpoint.handlers.map((h) => `${h.file}\u0000${h.function}`);
    for (const hook of endpoint.viewClass ? DRF_WRITE_HOOKS : []) {
      const found = methodOfClass(project, endpoint.viewClass!, hook);
      if (found) targets.push(`${found.file.path}\u0000${found.fn.name}`);
    }
    for (const key of targets) {
      const list = out.get(key) ?? [];
      for (const check of checks) if (!list.some((c) => c.file === check.file && c.pos === check.pos)) list.push(check);
      out.set(key, list);
    }
  }
  permissionIndex.set(project, out);
  return out;
}

/** `checkHelpers`: names the configuration declares authorization checks (see declaredChecks.ts). */
export function buildFunctionModels(file: FileFacts, project: Project, checkHelpers: ReadonlySet<string> = new Set()): FunctionModel[] {
  const callers = callersOf(project);
  const permissions = permissionChecks(project);
  return file.functions.map((fn) => {
    const inherited = (permissions.get(`${file.path}\u0000${fn.name}`) ?? []).map((check): CheckEvent => ({
      ...check, pos: fn.span[0], scopes: [fn.span], guard: "decorator",
    }));
    const events = [...inherited, ...withDeclaredChecks(file, fn, resolveEvents(project, file, fn), checkHelpers)]
      .map((e) => (e.type === "fetch" && locksThroughCustomMethod(project, e.query) ? { ...e, query: { ...e.query, locked: true } } : e));
    const atomic = fn.regions.filter((r) => r.kind === "atomic");
    if (atomicByRequest(project, fn)) {
      atomic.push({ kind: "atomic", span: fn.span, site: { ...fn.site, text: "ATOMIC_REQUESTS = True (settings)" } });
    }
    const defs = fn.defs.map((d) => (d.query && locksThroughCustomMethod(project, d.query) ? { ...d, query: { ...d.query, locked: true } } : d));
    return { file, fn, events, atomic, defs, callers: callers.get(`${file.path}\u0000${fn.name}`) ?? [], checkHelpers };
  });
}

/**
 * A method, its own or inherited, of a class the tree defines, named by file and class (an
 * endpoint's view class or one of its permission classes): `has_object_permission`, `perform_update`.
 */
export function methodOfClass(project: Project, ref: { file: string; name: string }, method: string): { file: FileFacts; fn: FunctionFacts } | null {
  const file = project.index.fileAt(ref.file);
  const cls = file ? project.index.classNamed(file, ref.name) : null;
  return file && cls ? findMethod(project.index, file, cls, method) : null;
}

/** A view that `ATOMIC_REQUESTS` wraps in a transaction (not opted out with `non_atomic_requests`). */
export function atomicByRequest(project: Project, fn: FunctionFacts): boolean {
  return project.settings.atomicRequests && fn.viewLike && !fn.nonAtomicRequests;
}

/** The call runs inside a transaction its caller holds: an atomic block, or `ATOMIC_REQUESTS` around a view. */
export function callInTransaction(project: Project, call: CallSite): boolean {
  return inAtomicRegion(call) || atomicByRequest(project, call.caller);
}

/** The call stands in one of its caller's own atomic blocks. */
export function inAtomicRegion(call: CallSite): boolean {
  return call.caller.regions.some((r) => r.kind === "atomic" && call.event.pos >= r.span[0] && call.event.pos < r.span[1]);
}

/** `Account.objects.locked()` where the tree's manager defines `locked()` as `self.select_for_update()`. */
function locksThroughCustomMethod(project: Project, query: FetchEvent["query"]): boolean {
  return !query.locked && (query.custom ?? []).some((m) => project.lockingQuerysetMethods.has(m));
}

function callsLocalModule(project: Project, file: FileFacts, callee: string): boolean {
  if (callee.startsWith("self.")) return false;
  const target = file.imports[callee.split(".")[0]!];
  if (!target) return false;
  return target.startsWith(".") || project.localPackages.has(target.split(".")[0]!);
}

function resolveCall(
  event: CallEvent,
  resolved: boolean,
  summary: HelperSummary | undefined,
): FunctionEvent[] {
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
    const write = summary.writes[0];
    if (write) {
      out.push({ type: "write", ...base, op: write.op, defs: event.argDefs, targetDef: null, query: write.query, fFields: [], lookupFields: [], via: event.callee });
    }
    // The helper's slow work (a gateway call, a loop of queries) widens the caller's window.
    if (summary.slow) out.push({ type: "slow", ...base, what: event.callee });
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

export function inScopes(scopes: Span[], pos: number): boolean {
  return scopes.some(([start, end]) => pos >= start && pos < end);
}

/** Where a check takes effect: decorators act just before the first statement of the body. */
export function checkPosition(check: CheckEvent): number {
  return check.guard === "decorator" ? (check.scopes[0]?.[0] ?? check.pos + 1) - 1 : check.pos;
}

export function atomicContaining(model: FunctionModel, ...positions: number[]): Region | null {
  const candidates = model.atomic.filter((r) => positions.every((p) => p >= r.span[0] && p < r.span[1]));
  // The innermost block: savepoints nested in an outer transaction still share its locks.
  candidates.sort((a, b) => (b.span[0] - a.span[0]) || (a.span[1] - b.span[1]));
  return candidates[candidates.length - 1] ?? null;
}

/** Locked, evaluated fetches inside `region` before `before`. */
export function locksIn(model: FunctionModel, region: Region, before: number): FetchEvent[] {
  return model.events.filter(
    (e): e is FetchEvent => e.type === "fetch" && e.query.locked && e.pos >= region.span[0] && e.pos < before,
  );
}

/** Events strictly between two positions that widen a race window. */
export function windowEvents(model: FunctionModel, from: number, to: number): FunctionEvent[] {
  return model.events.filter(
    (e) => e.pos > from && e.pos < to && (e.type === "fetch" || e.type === "write" || e.type === "call" || e.type === "slow"),
  );
}

/**
 * Slow work between two positions: network or file I/O, sleeps, calls to helpers that do such
 * work, and loops that query the database.
 */
export function slowWork(model: FunctionModel, from: number, to: number): boolean {
  if (model.events.some((e) => e.type === "slow" && e.pos > from && e.pos < to)) return true;
  return loopsBetween(model, from, to).some((loop) =>
    model.events.some((e) => (e.type === "fetch" || e.type === "write") && e.pos >= loop.span[0] && e.pos < loop.span[1] && e.pos < to));
}

export function loopsBetween(model: FunctionModel, from: number, to: number): Region[] {
  return model.fn.regions.filter((r) => r.kind === "loop" && r.span[0] > from && r.span[0] < to);
}

/**
 * Two adjacent statements (DESIGN §2 "low"): nothing touches the database, the network or a
 * loop in between, and the use follows the check's guard directly (`if not ok: return` + use).
 */
export function isAdjacent(model: FunctionModel, check: CheckEvent, usePos: number, useLine: number): boolean {
  const from = checkPosition(check);
  return windowEvents(model, from, usePos).length === 0 && loopsBetween(model, from, usePos).length === 0 && useLine - check.site.endLine <= 2;
}

/** A short description of what runs between check and use, for messages. */
export function describeWindow(model: FunctionModel, from: number, to: number): string {
  const tally = tallyWindow(windowEvents(model, from, to));
  const parts: string[] = [];
  if (tally.slow.length > 0) parts.push(tally.slow.join(", "));
  if (tally.queries > 0) parts.push(`${tally.queries} other ${tally.queries === 1 ? "query" : "queries"}`);
  if (tally.calls > 0) parts.push(`${tally.calls} ${tally.calls === 1 ? "call" : "calls"}`);
  if (loopsBetween(model, from, to).length > 0) parts.push("a loop");
  return parts.length > 0 ? parts.join(", ") : "only Python statements, but the read and the write are separate round trips";
}

/** The work among some events, tallied for window descriptions: slow work by name, queries, calls. */
export function tallyWindow(events: readonly FunctionEvent[]): { slow: string[]; queries: number; calls: number } {
  return {
    slow: events.flatMap((e) => (e.type === "slow" ? [`${e.what}() on line ${e.site.line}`] : [])),
    queries: events.filter((e) => e.type === "fetch" || e.type === "write").length,
    calls: events.filter((e) => e.type === "call").length,
  };
}

export function useKindOf(write: WriteEvent): UseKind {
  switch (write.op) {
    case "delete":
      return "delete";
    case "create":
    case "get_or_create":
    case "bulk":
      return "create";
    case "enqueue":
      return "enqueue";
    default:
      return "write";
  }
}

/** Where a decorator of the function is written, as a site of its own. */
export function decoratorSite(fn: FunctionFacts, decorator: string): SourceSite {
  const line = fn.decoratorLines[fn.decorators.indexOf(decorator)] ?? fn.site.line;
  return { line, column: 1, endLine: line, text: `@${decorator}` };
}

export function defName(model: FunctionModel, id: number | null | undefined): string {
  if (id === null || id === undefined) return "the object";
  return model.defs[id]?.name ?? "the object";
}
