/**
 * Pairs shared by STC102 and STC105: a fetched object's field is checked, then the object (or a
 * row derived from it) is written. The pair is classified by what, if anything, locks it.
 */
import type { CheckEvent, VariableDef, WriteEvent } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { isMutable } from "../project/models.js";
import type { ModelCore, StateWrite, StateWriteVerdict } from "./model.js";
import { atomicContaining, inScopes, locksIn } from "./scopes.js";
import { isBookkeeping } from "./uses.js";

export function stateWrites(model: ModelCore, project: Project): StateWrite[] {
  const out: StateWrite[] = [];
  const checks = model.events.filter(
    (e): e is CheckEvent => e.type === "check" && e.kind === "state" && e.subjectDef !== undefined && e.scopes.length > 0,
  );
  for (const write of model.events) {
    if (write.type !== "write" || write.op === "enqueue" || isBookkeeping(write)) continue;
    const guarding = checks.filter(
      (c) => c.pos < write.pos && inScopes(c.scopes, write.pos) && writesSubject(write, c.subjectDef!) && !c.idempotent &&
        checkedStateMutable(project, model.defs, c) && !compareAndSet(write, c),
    );
    if (guarding.length === 0) continue;
    const verdicts = guarding.map((c) => classify(model, c, write));
    // Re-validated under a lock at the point of use: one safe guard makes the write safe.
    if (verdicts.some((v) => v === null)) continue;
    const index = verdicts.length - 1;
    out.push({ check: guarding[index]!, write, subject: guarding[index]!.subjectDef!, verdict: verdicts[index]! });
  }
  return out;
}

function writesSubject(write: WriteEvent, subject: number): boolean {
  return write.targetDef === subject || write.defs.includes(subject);
}

/**
 * Can the checked state change after the check? A field no code in the project ever assigns is
 * written once, at creation; a check on no particular field is taken as mutable. `defs` are the
 * definitions of the function the check is in.
 */
export function checkedStateMutable(project: Project, defs: readonly VariableDef[], check: CheckEvent): boolean {
  if (check.field === null || check.field === undefined) return true;
  return isMutable(project.models, defs[check.subjectDef ?? -1]?.query?.model ?? null, check.field);
}

/** `filter(pk=…, status="open").update(…)`: the write re-tests the checked field itself. */
function compareAndSet(write: WriteEvent, check: CheckEvent): boolean {
  if (!write.query || !check.field) return false;
  if (write.op !== "update" && write.op !== "delete") return false;
  return write.query.filterFields.includes(check.field);
}

/** null when the pair is safe. */
function classify(model: ModelCore, check: CheckEvent, write: WriteEvent): StateWriteVerdict | null {
  const def = model.defs[check.subjectDef!];
  const locked = def?.query?.locked === true || lockedRefresh(model, check);
  const region = atomicContaining(model, check.pos, write.pos);
  if (locked) {
    if (region) return null;
    const fetchRegion = model.atomic.find((r) => def && def.pos >= r.span[0] && def.pos < r.span[1]);
    // Locked outside any transaction is STC105's "lock outside a transaction", reported at the fetch.
    return fetchRegion ? { kind: "released", region: fetchRegion } : null;
  }
  if (region) {
    const decoy = locksIn(model, region, write.pos).find((lock) => lock.def !== check.subjectDef);
    if (decoy) return { kind: "wrong-row", lock: decoy, region };
  }
  return { kind: "unlocked" };
}

/** `obj.refresh_from_db()` under a lock, before the check, re-reads the row locked. */
function lockedRefresh(model: ModelCore, check: CheckEvent): boolean {
  return model.events.some((e) => {
    if (e.type !== "refresh" || e.def !== check.subjectDef || e.pos > check.pos) return false;
    if (e.locked) return atomicContaining(model, e.pos, check.pos) !== null;
    const region = atomicContaining(model, e.pos, check.pos);
    const subject = model.defs[check.subjectDef!];
    return region !== null && locksIn(model, region, e.pos).some((l) => l.query.model !== null && l.query.model === subject?.query?.model);
  });
}
