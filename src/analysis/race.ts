/**
 * Who can change what a check read between the check and the use it guards (DESIGN.md §1):
 * the use itself or another run of the same code (`self`), another path a user can call
 * (`cross-path`), only privileged actors (`revocation`), or nobody (`none`: no finding).
 */
import type { CheckEvent, FunctionEvent, FunctionFacts, Span, VariableDef, WriteEvent } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { isAuthzModel } from "../project/models.js";
import type { Writer } from "../project/writeIndex.js";
import type { ModelCore } from "./model.js";
import { isBookkeeping, isTimestampField } from "./uses.js";

export type RaceKind = "self" | "cross-path" | "revocation" | "none";

export interface Race {
  kind: RaceKind;
  /** The code that can change the checked state: for `self` the use, else the other writers found. */
  writers: readonly Writer[];
  /** What changes it, in words, for messages ("another run of this view", "an admin revoking the permission"). */
  by: string;
}

const SAME_OUTCOME: Race = { kind: "none", writers: [], by: "the guarded code only sets the checked field to a constant: any order of runs ends the same" };

const NOBODY: Race = { kind: "none", writers: [], by: "nothing in the project changes it after creation" };

/** Attributes that restrict what a user may do when set (the opposite of a role or flag that grants). */
const RESTRICTION = /lock|ban|block|suspend|disabl|restrict|deactivat|frozen|freez|mute|spam|inactive|deleted/i;

/** Does the code at `pos` run only when the checked value is truthy (a grant), as opposed to falsy (a denial)? */
export function runsWhenTruthy(check: CheckEvent, pos: number): boolean {
  const whenFalse = (check.whenFalse ?? []).some(([start, end]: Span) => pos >= start && pos < end);
  return !whenFalse !== (check.negated === true);
}

/**
 * An authorization decision (permission, group, membership, role helper, staff flag): changed
 * by whoever grants and revokes access, unless the guarded uses change it themselves ("not the
 * last admin" and then removing one). A decision that can only deny grants nothing when stale.
 */
export function authorizationRace(project: Project, check: CheckEvent, uses: readonly FunctionEvent[], defs: readonly VariableDef[] = []): Race {
  if (check.guard === "if" && !check.threshold && uses.every((use) => !runsWhenTruthy(check, use.pos))) {
    return { kind: "none", writers: [], by: "the check can only deny: a stale answer grants nothing" };
  }
  if (uses.length > 0 && uses.every((use) => use.type === "write" && removesFromCheckedUser(check, use, defs))) {
    return { kind: "none", writers: [], by: "the guarded code only takes from the checked user the access the check found: removing what is already gone does nothing, so every order ends the same" };
  }
  // Two admins removing each other: each run's write revokes what the other's check read.
  if (uses.some((use) => use.type === "write" && changesAccess(project, use))) {
    return { kind: "self", writers: [], by: "the guarded write changes the access the check read; another run can pass the same check first" };
  }
  return { kind: "revocation", writers: [], by: "only an administrator revoking the permission, group or role" };
}

const ACCESS_RELATION = /\.(groups|user_permissions|user_set|permissions)$/;

/**
 * `if user.groups.filter(...).exists(): group.user_set.remove(user)`: a removal, from a
 * permission relation, of the user whose access the check read (the relation's owner for
 * `user.groups.remove(g)`, an argument for `group.user_set.remove(user)` or a helper).
 */
function removesFromCheckedUser(check: CheckEvent, write: WriteEvent, defs: readonly VariableDef[]): boolean {
  if (write.op !== "m2m" || (write.method !== "remove" && write.method !== "clear")) return false;
  const source = write.query?.source ?? "";
  if (!ACCESS_RELATION.test(source)) return false;
  const name = check.receiver ?? (check.query?.source ?? "").replace(/\.(groups|user_permissions)$/, "");
  if (!/^\w+$/.test(name) || name === "request") return false;
  const user = defs.filter((d) => d.name === name).map((d) => d.id);
  if (user.length === 0) return false;
  // `user.groups.remove(g)`: the relation's owner loses it; `group.user_set.remove(user)`: the argument does.
  const owner = /\.(groups|user_permissions)$/.test(source) && write.targetDef !== null ? [write.targetDef] : [];
  const members = /\.(user_set|permissions)$/.test(source) || write.via !== undefined ? write.defs.filter((d) => d !== write.targetDef) : [];
  return [...owner, ...members].some((d) => user.includes(d));
}

function changesAccess(project: Project, write: WriteEvent): boolean {
  if (write.op === "m2m" && ACCESS_RELATION.test(write.query?.source ?? "")) return true;
  return (write.op === "delete" || write.op === "update" || write.op === "save") && isAuthzModel(project.models, write.query?.model ?? null);
}

/**
 * A field of a fetched object: `self` when the function writes that field itself after the
 * check (another run passes the same check before the write), `cross-path` when another path a
 * user can call writes it, `revocation` when only privileged code does, `none` when nothing does.
 */
export function stateRace(project: Project, model: ModelCore, check: CheckEvent, subject: number, uses: readonly WriteEvent[]): Race {
  const field = check.field ?? null;
  const objectModel = model.defs[subject]?.query?.model ?? null;
  if (field !== null && onlySetsCheckedField(model, check, field, uses)) {
    // Runs of this code all write the same value. A yes/no flag ends the same in any order; a
    // status with more values can still be overwritten: another path moves it on after the check.
    if (twoValued(model, check, field)) return SAME_OUTCOME;
    return fieldRace(project, model.file.path, model.fn, objectModel, field, check.identity === true);
  }
  const selfWrite = writesCheckedState(model, check, subject, uses);
  if (selfWrite) return { kind: "self", writers: [], by: "the write changes the state the check read, so another run of this code can pass the same check first" };
  return fieldRace(project, model.file.path, model.fn, objectModel, field, check.identity === true);
}

/**
 * A field other code may write: `cross-path` when a path a user can call writes it, `revocation`
 * when only privileged code does, `none` when nothing does (or the check tests a method's
 * result, whose state the scan cannot attribute to anyone).
 */
export function fieldRace(project: Project, file: string, exclude: FunctionFacts, objectModel: string | null, field: string | null, identity = false): Race {
  // A method's result (`inv.is_payable()`) reads what the scan cannot see: only its own writes make a case.
  if (field === null) return { kind: "none", writers: [], by: "the tested method's state is not changed here" };
  // `obj.owner == request.user` on an object of unknown model: an owner is set when the row is made.
  if (identity && objectModel === null) return NOBODY;
  // An ownership test is raced by code that hands the object to someone, not by code that stamps the creator.
  const others = project.writes.fieldWriters(objectModel, field, file).filter((w) => w.fn !== exclude && !(identity && w.stampsUser));
  const open = others.filter((w) => !w.privileged);
  if (open.length > 0) return { kind: "cross-path", writers: open, by: `${describeWriter(open[0]!)} changes \`${field}\`` };
  if (others.length > 0) return { kind: "revocation", writers: others, by: `only privileged code changes \`${field}\` (${describeWriter(others[0]!)})` };
  return NOBODY;
}

/**
 * A check made in another function than the use (a dispatch(), a permission class, the view
 * that queued a task): a decision on access is revoked by administrators; a state check is
 * raced by whoever writes the field.
 */
export function checkedElsewhereRace(project: Project, file: string, fn: FunctionFacts, defs: readonly VariableDef[], check: CheckEvent): Race {
  if (check.kind !== "state") return { kind: "revocation", writers: [], by: "only an administrator revoking the permission, group or role" };
  return fieldRace(project, file, fn, defs[check.subjectDef ?? -1]?.query?.model ?? null, check.field ?? null, check.identity === true);
}

/** The function writes the checked field of the checked object after the check (or deletes the object). */
function writesCheckedState(model: ModelCore, check: CheckEvent, subject: number, uses: readonly WriteEvent[]): boolean {
  const field = check.field ?? null;
  // Anywhere the check guards: `create(Payment)` then `inv.status = "paid"` races at the create.
  const last = Math.max(...uses.map((u) => u.pos), ...check.scopes.map(([, end]) => end - 1));
  for (const event of model.events) {
    if (event.pos <= check.pos || event.pos > last) continue;
    if (event.type === "assign" && event.def === subject && (field === null || event.field === field)) return true;
    // A method's result (`field` null): only writes of the object itself, not of rows derived from it.
    if (event.type === "write" && (event.targetDef === subject || (field !== null && event.defs.includes(subject)))) {
      // Deleting the checked row consumes it (a single-use token): a race when something else is done on the strength of the check.
      if (event.op === "delete" && uses.some((u) => u.op !== "delete")) return true;
      if (event.setFields && (field === null ? event.setFields.length > 0 : event.setFields.includes(field))) return true;
    }
  }
  return false;
}

/** An existence or count guard on a model's rows, and a create (or delete) of those rows: the next run counts before this one writes. */
export function rowsRace(): Race {
  return { kind: "self", writers: [], by: "each run counts the rows before the others write theirs" };
}

/**
 * A decision from the request user's in-memory attributes (`is_staff`, a role field): changed by
 * whoever can write that field, unless it can only deny.
 */
export function userAttributeRace(project: Project, model: ModelCore, check: CheckEvent, field: string | null, uses: readonly FunctionEvent[]): Race {
  // A restriction (`is_avatar_locked`, `is_banned`) denies when set: its grant is the falsy side.
  const grantWhenTruthy = field === null || !RESTRICTION.test(field);
  if (check.guard === "if" && !check.threshold && uses.every((use) => runsWhenTruthy(check, use.pos) !== grantWhenTruthy)) {
    return { kind: "none", writers: [], by: "the check can only deny: a stale answer grants nothing" };
  }
  if (field !== null && onlySetsCheckedField(model, check, field, uses) && twoValued(model, check, field)) return SAME_OUTCOME;
  if (field === null) return { kind: "revocation", writers: [], by: "only an administrator changing the user's role" };
  const others = project.writes.fieldWriters(null, field, model.file.path).filter((w) => w.fn !== model.fn);
  const open = others.filter((w) => !w.privileged);
  if (open.length > 0) return { kind: "cross-path", writers: open, by: `${describeWriter(open[0]!)} changes \`${field}\`` };
  return { kind: "revocation", writers: others, by: others.length > 0 ? `only privileged code changes \`${field}\` (${describeWriter(others[0]!)})` : `only an administrator changing \`${field}\`` };
}

/**
 * The guarded code does nothing but set the checked field to a constant and save it
 * (`if not n.is_read: n.is_read = True; n.save()`): concurrent runs write the same value, and
 * nothing else happens on the strength of the check, so every order ends the same.
 */
function onlySetsCheckedField(model: ModelCore, check: CheckEvent, field: string, uses: readonly FunctionEvent[]): boolean {
  if (uses.length === 0) return false;
  // Everything the check guards, not only up to this use: a credit after the flag is set is done twice.
  const last = Math.max(...uses.map((u) => u.pos), ...check.scopes.map(([, end]) => end - 1));
  let sets = false;
  for (const event of model.events) {
    if (event.pos <= check.pos || event.pos > last) continue;
    switch (event.type) {
      case "assign":
        if (event.def !== check.subjectDef || event.field !== field || !event.literal) return false;
        sets = true;
        break;
      case "write":
        if (isBookkeeping(event)) break;
        if (event.op !== "save" && event.op !== "update") return false;
        if (event.op === "save" && event.targetDef !== check.subjectDef) return false;
        if (event.setFields && !event.setFields.every((f) => f === field || isTimestampField(f))) return false;
        if (event.op === "update" && (!event.setFields?.includes(field) || event.fFields.length > 0)) return false;
        if (event.op === "update") sets = true;
        break;
      // Reads, responses and calls change nothing themselves: a helper's writes come as write events.
      case "check":
      case "fetch":
      case "refresh":
      case "call":
      case "disclose":
        break;
      default:
        return false;
    }
  }
  return sets;
}

const BOOLEAN = /^(True|False|None)$/;

/**
 * The checked field holds yes or no: the check tests truthiness or compares with True, False or
 * None, and the code sets it to one of those.
 */
function twoValued(model: ModelCore, check: CheckEvent, field: string): boolean {
  if (check.manyValued || (check.comparedTo !== undefined && !BOOLEAN.test(check.comparedTo))) return false;
  return model.events.every((e) => e.type !== "assign" || e.field !== field || e.pos <= check.pos || BOOLEAN.test(e.value));
}

export function describeWriter(writer: Writer): string {
  return `\`${writer.fn.name}\` (${writer.file.path}:${writer.line}${writer.route ? `, ${writer.route}` : ""})`;
}
