/**
 * Interprocedural summaries: what calling a function amounts to for its caller (it answers an
 * authorization check, raises on one, writes, leaves a row lock held, does slow work), solved
 * to a fixpoint over the call graph.
 */
import type { CheckKind, FileFacts, FunctionEvent, FunctionFacts, QueryShape, WriteOp } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import type { CallGraph } from "./callGraph.js";

export interface HelperSummary {
  /** The helper returns the answer of an authorization check. */
  returnsCheck: CheckKind | null;
  /** The helper checks and raises/denies: calling it as a statement guards what follows. */
  raisesCheck: CheckKind | null;
  /** The helper writes to the database (directly or through its own helpers); for creates, the fields the row gets. */
  writes: { op: WriteOp; query: QueryShape | null; lookupFields: string[]; defaultFields?: string[]; setFields?: string[]; onSelf?: boolean; method?: string }[];
  /** The helper evaluates a locked query (it takes a row lock for its caller's transaction). */
  lock: QueryShape | null;
  /** The helper does slow work (network or file I/O, sleeps, loops of queries), directly or through calls. */
  slow: boolean;
  /** Of that slow work, network or file I/O or sleeping (not only loops of queries), directly or through calls. */
  io: boolean;
  /**
   * Parameters the helper saves with every field (`instance.save()`, no `update_fields`), by the
   * caller's argument position (after `self`) and by name: the caller's variable passed there is saved whole.
   */
  savesWhole: { index: number; name: string }[];
}

const MAX_FIXPOINT_ROUNDS = 50;

/** Summaries of every function, by file path, then by qualified function name. */
export function summarise(files: readonly FileFacts[], calls: CallGraph): Map<string, Map<string, HelperSummary>> {
  interface Node {
    fn: FunctionFacts;
    summary: HelperSummary;
    /** Resolved calls; recursion and unresolved calls simply contribute nothing. */
    calls: { event: FunctionEvent; target: HelperSummary; self: boolean }[];
    /** Summaries of the functions whose results this one returns. */
    returned: HelperSummary[];
  }
  const summaries = new Map<string, Map<string, HelperSummary>>();
  const all: Node[] = [];
  for (const file of files) {
    const map = new Map<string, HelperSummary>();
    for (const fn of file.functions) {
      const summary = ownSummary(fn);
      map.set(fn.name, summary);
      all.push({ fn, summary, calls: [], returned: [] });
    }
    summaries.set(file.path, map);
  }
  const summaryOf = (file: FileFacts, fn: FunctionFacts) => summaries.get(file.path)!.get(fn.name)!;
  let at = 0;
  for (const file of files) {
    for (const fn of file.functions) {
      const node = all[at++]!;
      for (const event of fn.events) {
        if (event.type !== "call") continue;
        const target = calls.targetOf(file, fn, event);
        if (target) node.calls.push({ event, target: summaryOf(target.file, target.fn), self: target.fn === fn });
      }
      for (const c of fn.returnCallees) {
        const target = calls.calleeOf(file, fn, c);
        if (target) node.returned.push(summaryOf(target.file, target.fn));
      }
    }
  }
  for (let round = 0; round < MAX_FIXPOINT_ROUNDS; round++) {
    let changed = false;
    for (const { fn, summary, calls: resolved, returned } of all) {
      for (const other of returned) {
        if (other.returnsCheck && !summary.returnsCheck) {
          summary.returnsCheck = other.returnsCheck;
          changed = true;
        }
      }
      for (const { event, target, self } of resolved) {
        if (self || event.type !== "call") continue;
        if (fn.denies && !summary.raisesCheck && event.scopes.length > 0) {
          const kind = target.returnsCheck ?? target.raisesCheck;
          if (kind) {
            summary.raisesCheck = kind;
            changed = true;
          }
        }
        if (target.writes.length > 0 && summary.writes.length === 0) {
          summary.writes = [...target.writes];
          changed = true;
        }
        if (target.lock && !summary.lock) {
          summary.lock = target.lock;
          changed = true;
        }
        if (target.slow && !summary.slow) {
          summary.slow = true;
          changed = true;
        }
        if (target.io && !summary.io) {
          summary.io = true;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return summaries;
}

function ownSummary(fn: FunctionFacts): HelperSummary {
  const authz = fn.events.find((e) => e.type === "check" && AUTHZ_CHECK_KINDS.has(e.kind) && e.guard !== "decorator");
  const authzKind = authz && authz.type === "check" ? authz.kind : null;
  // Only a lock the helper leaves held for its caller's transaction: one taken inside the
  // helper's own atomic block is released when the helper returns.
  const ownAtomic = fn.regions.filter((r) => r.kind === "atomic");
  const lock = fn.events.find((e) => e.type === "fetch" && e.query.locked && !ownAtomic.some((r) => e.pos >= r.span[0] && e.pos < r.span[1]));
  return {
    returnsCheck: fn.returnsCheck,
    raisesCheck: fn.denies ? authzKind : null,
    writes: fn.events.flatMap((e) => (e.type === "write" ? [{
      op: e.op, query: e.query, lookupFields: e.lookupFields, ...(e.defaultFields ? { defaultFields: e.defaultFields } : {}), ...(e.setFields ? { setFields: e.setFields } : {}),
      ...(e.op === "m2m" && e.method ? { method: e.method } : {}),
      // A model method writing its own row (`self.save()`): the caller's object is written.
      ...(e.targetDef !== null && fn.defs[e.targetDef]?.origin === "self" ? { onSelf: true } : {}),
    }] : [])),
    lock: lock && lock.type === "fetch" ? lock.query : null,
    slow: fn.events.some((e) => e.type === "slow") || fn.regions.some((r) => r.kind === "loop" && fn.events.some((e) => (e.type === "fetch" || e.type === "write") && e.pos >= r.span[0] && e.pos < r.span[1])),
    io: fn.events.some((e) => e.type === "slow"),
    savesWhole: parametersSavedWhole(fn),
  };
}

/** `def save_and_cleanup(image, instance): ...; instance.save()`: the parameters saved with every field. */
function parametersSavedWhole(fn: FunctionFacts): { index: number; name: string }[] {
  const offset = fn.className !== null && (fn.params[0] === "self" || fn.params[0] === "cls") ? 1 : 0;
  const out: { index: number; name: string }[] = [];
  fn.params.forEach((name, at) => {
    if (at < offset) return;
    // The parameter is the first definition of its name; a reassigned name is another definition.
    const param = fn.defs.find((d) => d.name === name);
    if (!param || param.origin !== "other") return;
    if (fn.events.some((e) => e.type === "write" && e.op === "save" && e.setFields === undefined && e.targetDef === param.id)) out.push({ index: at - offset, name });
  });
  return out;
}
