/**
 * Lost updates on a fetched row, without a check to pair: a field read and written back computed
 * from its old value (`obj.n += 1; obj.save()`), and a row saved whole after slow work, which
 * writes back every field as it was read and undoes whatever changed meanwhile.
 */
import type { AssignEvent, WriteEvent } from "../extract/facts.js";
import type { ModelCore } from "./model.js";
import { atomicContaining } from "./scopes.js";
import { slowWork } from "./window.js";

export interface ReadModifyWrite {
  assign: AssignEvent;
  save: WriteEvent;
}

export interface StaleSave {
  /** Where the row was read (its variable's definition). */
  readPos: number;
  readLine: number;
  save: WriteEvent;
  subject: number;
}

/**
 * The row was read with `select_for_update()` and the lock is held through `pos` (same
 * transaction), or the read runs in no transaction at all: that lock is STC105's finding, the
 * one the reader needs.
 */
function lockedThrough(model: ModelCore, subject: number, pos: number): boolean {
  const def = model.defs[subject];
  if (def?.query?.locked !== true) return false;
  return atomicContaining(model, def.pos, pos) !== null || atomicContaining(model, def.pos, def.pos) === null;
}

/** `obj.n += 1` (or `obj.n = obj.n + x`) on a fetched, unlocked row, then a save of that row. */
export function readModifyWrites(model: ModelCore): ReadModifyWrite[] {
  // One per save: the first change it writes back stands for the others.
  const bySave = new Map<WriteEvent, ReadModifyWrite>();
  for (const assign of model.events) {
    if (assign.type !== "assign" || !assign.readModifyWrite || isToggle(model, assign)) continue;
    if (model.defs[assign.def]?.origin !== "fetch" || lockedThrough(model, assign.def, assign.pos)) continue;
    const save = model.events.find((e): e is WriteEvent => e.type === "write" && e.pos > assign.pos && e.op === "save" && e.targetDef === assign.def &&
      (e.setFields === undefined || e.setFields.includes(assign.field)));
    if (save && !bySave.has(save)) bySave.set(save, { assign, save });
  }
  return [...bySave.values()];
}

/**
 * `obj.flag = not obj.flag`: runs that read the same value all write its opposite, so the one
 * lost is a second flip nobody asked for; each request meant the value it writes.
 */
function isToggle(model: ModelCore, assign: AssignEvent): boolean {
  const name = model.defs[assign.def]?.name;
  return name !== undefined && assign.value === `not ${name}.${assign.field}`;
}

/**
 * A fetched, unlocked row saved with every field (no `update_fields`) after slow work since it
 * was read: network or file I/O, sleeps, slow helpers, loops of queries.
 */
export function staleSaves(model: ModelCore): StaleSave[] {
  const out: StaleSave[] = [];
  for (const save of model.events) {
    if (save.type !== "write" || save.op !== "save" || save.setFields !== undefined || save.targetDef === null) continue;
    const def = model.defs[save.targetDef];
    if (!def || def.origin !== "fetch" || !def.query?.model || lockedThrough(model, def.id, save.pos)) continue;
    // A `refresh_from_db()` after the slow work re-reads the row: only what runs after it counts.
    const from = model.events.reduce((at, e) => (e.type === "refresh" && e.def === def.id && e.pos > at && e.pos < save.pos ? e.pos : at), def.pos);
    if (!slowWork(model, from, save.pos)) continue;
    // A helper's save may sit on a branch this call never takes: only network or file I/O, not loops of queries, makes it worth reporting.
    if (save.via !== undefined && !model.events.some((e) => e.type === "slow" && e.queriesOnly !== true && e.pos > from && e.pos < save.pos)) continue;
    const read = model.events.find((e) => e.type === "fetch" && e.def === def.id);
    out.push({ readPos: def.pos, readLine: read?.site.line ?? model.fn.site.line, save, subject: def.id });
  }
  return out;
}
