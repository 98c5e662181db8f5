/**
 * What a rule sees of one function: its events with calls to same-file helpers resolved into
 * the checks, writes and locks those helpers perform, and its transaction regions including
 * the implicit one `ATOMIC_REQUESTS` opens around views.
 */
import type {
  CallEvent, CheckEvent, FetchEvent, FileFacts, FunctionEvent, FunctionFacts, Region, Span, VariableDef, WriteEvent,
} from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import { checkKindByName } from "../extract/vocabulary.js";
import { type Project, resolveCallee, summaryOf } from "../project/buildProject.js";
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
}

const callerIndex = new WeakMap<Project, Map<string, CallSite[]>>();

/** Every resolved call in the project, by callee (`path\0name`), built once per project. */
function callersOf(project: Project): Map<string, CallSite[]> {
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

export function buildFunctionModels(file: FileFacts, project: Project): FunctionModel[] {
  const callers = callersOf(project);
  return file.functions.map((fn) => {
    const events: FunctionEvent[] = [];
    for (const event of fn.events) {
      if (event.type !== "call") {
        events.push(event);
        continue;
      }
      const target = resolveCallee(project, file, fn, event.callee);
      const summary = target ? summaryOf(project, target.file, target.fn) : undefined;
      events.push(...resolveCall(event, target !== null, summary));
    }
    const atomic = fn.regions.filter((r) => r.kind === "atomic");
    if (project.settings.atomicRequests && fn.viewLike && !fn.nonAtomicRequests) {
      atomic.push({ kind: "atomic", span: fn.span, site: { ...fn.site, text: "ATOMIC_REQUESTS = True (settings)" } });
    }
    return { file, fn, events, atomic, defs: fn.defs, callers: callers.get(`${file.path}\u0000${fn.name}`) ?? [] };
  });
}

function resolveCall(
  event: CallEvent,
  resolved: boolean,
  summary: { returnsCheck: string | null; raisesCheck: string | null; writes: { op: WriteEvent["op"]; query: WriteEvent["query"] }[]; lock: FetchEvent["query"] | null } | undefined,
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

/** Where a check takes effect: decorators act at the start of the body. */
export function checkPosition(check: CheckEvent): number {
  return check.guard === "decorator" ? check.scopes[0]?.[0] ?? check.pos : check.pos;
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

export function loopsBetween(model: FunctionModel, from: number, to: number): Region[] {
  return model.fn.regions.filter((r) => r.kind === "loop" && r.span[0] > from && r.span[0] < to);
}

/** Adjacent statements: nothing that touches the database or the network runs in between. */
export function isAdjacent(model: FunctionModel, check: CheckEvent, usePos: number): boolean {
  const from = checkPosition(check);
  return windowEvents(model, from, usePos).length === 0 && loopsBetween(model, from, usePos).length === 0;
}

/** A short description of what runs between check and use, for messages. */
export function describeWindow(model: FunctionModel, from: number, to: number): string {
  const events = windowEvents(model, from, to);
  const slow = events.filter((e) => e.type === "slow");
  const queries = events.filter((e) => e.type === "fetch" || e.type === "write").length;
  const calls = events.filter((e) => e.type === "call").length;
  const parts: string[] = [];
  if (slow.length > 0) parts.push(slow.map((e) => (e.type === "slow" ? `${e.what}() on line ${e.site.line}` : "")).join(", "));
  if (queries > 0) parts.push(`${queries} other ${queries === 1 ? "query" : "queries"}`);
  if (calls > 0) parts.push(`${calls} ${calls === 1 ? "call" : "calls"}`);
  if (loopsBetween(model, from, to).length > 0) parts.push("a loop");
  return parts.length > 0 ? parts.join(", ") : "nothing but Python statements";
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

export function defName(model: FunctionModel, id: number | null | undefined): string {
  if (id === null || id === undefined) return "the object";
  return model.defs[id]?.name ?? "the object";
}
