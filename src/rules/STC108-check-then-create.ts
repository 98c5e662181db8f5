import type { FunctionModel } from "../analysis/model.js";
import type { Rule, RuleHit } from "../analysis/rule.js";
import { rowsRace } from "../analysis/race.js";
import { atomicContaining, inScopes, locksIn } from "../analysis/scopes.js";
import { describeWindow } from "../analysis/window.js";
import type { CheckEvent, FetchEvent, WriteEvent } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { isExternalModel, managerOverrides, nullableFields, uniqueCovers } from "../project/models.js";

export const STC108: Rule = {
  meta: {
    code: "STC108",
    name: "check-then-create",
    defaultSeverity: "medium",
    docs: {
      summary:
        "An `exists()`/`count()`/`len()`/`first()` guard (uniqueness, a quota, \"one pending request per user\") is followed by a `create()` or `bulk_create()` of the same model, with no unique constraint and no lock to make the guard hold; " +
        "`get_or_create()` on fields that are not unique; a \"not the last one\" count guard followed by removing one of the counted rows; a unique constraint whose IntegrityError nothing handles (low).",
      why:
        "Two concurrent requests both run the guard, both see no row (or a count under the limit), and both create: a user gets two pending requests, six invoices on a quota of five, two accounts for one e-mail address. " +
        "`get_or_create()` is itself a check-then-create: Django's documentation warns it is only race-free when the lookup fields are backed by a unique constraint. " +
        "The mirror image is `if admins.count() <= 1: deny`, then removing one: two requests each remove a different admin and none is left. " +
        "Where a unique constraint does stop the duplicate but no `except IntegrityError` handles it, the losing request fails with a server error (reported at low severity).",
      example: [
        "from django.http import JsonResponse",
        "from .models import Invoice",
        "",
        "MAX_OPEN_INVOICES = 5",
        "",
        "def create_invoice(request):",
        "    if Invoice.objects.filter(owner=request.user, status=\"open\").count() >= MAX_OPEN_INVOICES:",
        "        return JsonResponse({\"error\": \"quota reached\"}, status=429)",
        "    invoice = Invoice.objects.create(owner=request.user, amount=request.POST[\"amount\"])  # expect: STC108",
        "    return JsonResponse({\"id\": invoice.pk})",
      ].join("\n"),
      useInstead: [
        "from django.contrib.auth import get_user_model",
        "from django.db import transaction",
        "from django.http import JsonResponse",
        "from .models import Invoice",
        "",
        "MAX_OPEN_INVOICES = 5",
        "",
        "def create_invoice(request):",
        "    with transaction.atomic():",
        "        # Serialise this user's creations on their own row.",
        "        get_user_model().objects.select_for_update().get(pk=request.user.pk)",
        "        if Invoice.objects.filter(owner=request.user, status=\"open\").count() >= MAX_OPEN_INVOICES:",
        "            return JsonResponse({\"error\": \"quota reached\"}, status=429)",
        "        invoice = Invoice.objects.create(owner=request.user, amount=request.POST[\"amount\"])",
        "    return JsonResponse({\"id\": invoice.pk})",
      ].join("\n"),
      knownLimitations: [
        "Unique constraints are read from models defined in the scanned tree (`unique=True`, `primary_key=True`, `OneToOneField`, `unique_together`, `UniqueConstraint`, a `save()` that always sets the primary key to a constant) plus Django's User, Group and Permission; constraints added only in migrations or in the database are not seen.",
        "An abstract base's `unique_together` and `constraints` are inherited as Django inherits its Meta (no `Meta` of the subclass's own, `class Meta(Base.Meta)`, or `constraints = Base.Meta.constraints + [...]`); with several abstract bases, the Meta of each is taken, not only the first one's.",
        "A `get_or_create()` through a custom manager that defines its own is checked inside that manager, not at the call.",
        "The guard and the create are matched by model name or by the same related manager (`user.invoices`).",
      ],
      references: [
        { title: "CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition", url: "https://cwe.mitre.org/data/definitions/367.html" },
        { title: "Django: get_or_create()", url: "https://docs.djangoproject.com/en/stable/ref/models/querysets/#get-or-create" },
        { title: "Django: UniqueConstraint", url: "https://docs.djangoproject.com/en/stable/ref/models/constraints/#uniqueconstraint" },
        { title: "Django: select_for_update()", url: "https://docs.djangoproject.com/en/stable/ref/models/querysets/#select-for-update" },
      ],
      fixes: {
        available: [
          {
            title: "Lock the row the guard reads (a quota or an account fetched before it) with `select_for_update()`, else the requesting user's row, and run the guard and the create in one `transaction.atomic()` block.",
            safety: "unsafe",
            why: "The lock serialises the runs of this handler; other code that creates the same rows must take the same lock for the limit to hold everywhere.",
          },
        ],
        none: "the guard tests uniqueness with nothing to lock, or `get_or_create()` runs on fields no unique constraint covers: that needs a `UniqueConstraint` (a model change and its migration), which no edit of the view can make.",
      },
    },
  },
  checkFunction(model, { project }) {
    const hits: RuleHit[] = [];
    // A membership row looked up for the caller (`Membership.objects.filter(user=...).first()`) is an existence guard too.
    const guards = model.events.filter((e): e is CheckEvent => e.type === "check" && (e.kind === "exists" || (e.kind === "membership" && e.method !== undefined)) && e.query !== undefined && e.scopes.length > 0);
    for (const write of model.events) {
      if (write.type !== "write") continue;
      if (write.op === "delete" || write.op === "save" || write.op === "update") {
        const hit = lastRowGuard(model, guards, write);
        if (hit) hits.push(hit);
        continue;
      }
      if (!write.query) continue;
      if (write.op === "get_or_create") {
        // A helper's get_or_create is reported in the helper, not again at each call.
        if (write.via) continue;
        const hit = unsafeGetOrCreate(model, project, write);
        if (hit) hits.push(hit);
        continue;
      }
      if (write.op !== "create" && write.op !== "bulk") continue;
      if (write.op === "bulk") {
        const hit = readThenBulkInsert(model, guards, write);
        if (hit) hits.push(hit);
        continue;
      }
      const guarding = guards.filter((g) => g.pos < write.pos && inScopes(g.scopes, write.pos) && sameTarget(g, write) &&
        // A third-party model's constraints are not in the tree: say nothing rather than guess.
        !(g.query!.model !== null && isExternalModel(project.models, model.file, g.query!.model)));
      if (guarding.length === 0) continue;
      if (guarding.some((g) => lockedBefore(model, g.pos, write.pos))) continue;
      // A unique set the guard or the create covers decides (the second insert fails), safe only
      // where the IntegrityError is handled; unhandled, the losing request fails with a 500.
      const constrained = write.lookupFields.includes("pk") || write.lookupFields.includes("id") ||
        // A guard on the primary key says nothing of a create that lets the database pick a new one.
        guarding.some((g) => uniqueCovers(project.models, g.query!.model, g.query!.filterFields.filter((f) => f !== "pk" && f !== "id"))) ||
        uniqueCovers(project.models, write.query.model, [...write.lookupFields, ...(write.defaultFields ?? [])], write.maybeNullFields);
      if (constrained && integrityHandled(model, write.pos)) continue;
      const guard = guarding[guarding.length - 1]!;
      const target = guard.query!.model ?? guard.query!.source;
      const fields = guard.query!.filterFields;
      const known = guard.query!.model !== null && project.models.byName.has(guard.query!.model);
      const asks = guard.guard === "except" ? "get() / except DoesNotExist" : guard.method === "first" ? "first() and a test for None" : "exists/count";
      hits.push({
        severity: constrained ? "low" : "medium",
        confidence: known || guard.query!.model === null ? "high" : "medium",
        check: { site: guard.site, kind: "exists", scopes: guard.scopes },
        use: { site: write.site, kind: "create" },
        message: constrained
          ? `Line ${guard.site.line} tests \`${target}\` rows (${asks}) and line ${write.site.line} creates one; a unique constraint stops the duplicate, but the losing request ` +
            `fails with an IntegrityError nothing handles (${describeWindow(model, guard.pos, write.pos)} run in between).`
          : `Line ${guard.site.line} tests \`${target}\` rows (${asks}) and line ${write.site.line} creates one based on the answer ` +
            `(${describeWindow(model, guard.pos, write.pos)} run in between); concurrent requests all pass the test and all create.` +
            (guard.query!.model && !known ? ` No model \`${guard.query!.model}\` is defined in the scanned tree, so its constraints are unknown.` : ""),
        remediation: constrained
          ? `Use \`get_or_create()\`/\`update_or_create()\` on the unique fields (Django reads the winner's row after the IntegrityError), or wrap the create in \`try: … except IntegrityError:\` and treat it as "already there".`
          : fields.length > 0 && (guard.method === "exists" || guard.method === "bool" || guard.method === "first")
            ? `Add \`models.UniqueConstraint(fields=[${fields.map((f) => `"${f}"`).join(", ")}], name=...)\` to ${target} and catch IntegrityError (or use \`get_or_create()\` on those fields); for a quota, lock the owning row with \`select_for_update()\` inside \`transaction.atomic()\` before counting.`
            : `Lock the owning row (e.g. the user or account) with \`select_for_update()\` inside \`transaction.atomic()\` before line ${guard.site.line}, and create inside the same block; or enforce the rule with a database constraint and handle IntegrityError.`,
        race: rowsRace(),
        window: { from: guard.pos, to: write.pos },
      });
    }
    return hits;
  },
};

function sameTarget(guard: CheckEvent, write: WriteEvent): boolean {
  const a = guard.query!;
  const b = write.query!;
  if (a.model !== null && b.model !== null) return a.model === b.model;
  return a.source === b.source;
}

/**
 * The rows that exist are read, the missing ones computed and bulk-inserted: two concurrent runs
 * read the same rows and insert the same missing ones (duplicates, or an IntegrityError that
 * fails the request when a unique constraint catches them).
 */
function readThenBulkInsert(model: FunctionModel, guards: readonly CheckEvent[], write: WriteEvent): RuleHit | null {
  const target = write.query!.model;
  if (!target || write.ignoreConflicts || integrityHandled(model, write.pos)) return null;
  const guard = guards.filter((g) => g.query!.model === target && g.pos < write.pos && inScopes(g.scopes, write.pos)).pop();
  // `bulk_update()` inserts no row: after a plain read of the rows nothing it writes can duplicate
  // another run's (a lost update is STC102's). After a guard it still acts on a stale answer.
  if (!guard && write.method === "bulk_update") return null;
  const read = guard ?? model.events.filter((e): e is FetchEvent => e.type === "fetch" && !e.single && e.query.model === target && e.pos < write.pos).pop();
  if (!read || lockedBefore(model, read.pos, write.pos)) return null;
  return {
    severity: "medium",
    confidence: "medium",
    check: { site: read.site, kind: "exists", ...(guard ? { scopes: guard.scopes } : {}) },
    use: { site: write.site, kind: "create" },
    message: `Line ${read.site.line} reads the \`${target}\` rows that exist and line ${write.site.line} bulk-inserts the ones it found missing ` +
      `(${describeWindow(model, read.pos, write.pos)} run in between); concurrent runs read the same rows and insert the same ones.`,
    remediation: `Pass \`ignore_conflicts=True\` to \`bulk_create()\` with a unique constraint on the row's identity, or lock the owning row with \`select_for_update()\` inside \`transaction.atomic()\` before line ${read.site.line}.`,
    race: rowsRace(),
    window: { from: read.pos, to: write.pos },
  };
}

/**
 * "Not the last admin": a count of rows (`count()`, `len()`, an aggregate) guards the removal or
 * change of one of them. Concurrent requests each count the same rows, each removes a different
 * one, and together they go below the limit the count protected.
 */
const LAST_ROW_BOUND = new Set(["0", "1", "2"]);

function lastRowGuard(model: FunctionModel, guards: readonly CheckEvent[], write: WriteEvent): RuleHit | null {
  const written = write.query?.model ?? (write.targetDef !== null ? model.defs[write.targetDef]?.query?.model ?? null : null);
  if (!written) return null;
  // "Not the last one": a count compared with 0, 1 or 2. A larger bound (`<= MAX_UPLOADS`) prunes
  // the excess, and runs that prune the same rows end as one would.
  const guarding = guards.filter((g) => (g.method === "count" || g.method === "len" || g.method === "aggregate") && LAST_ROW_BOUND.has(g.bound ?? "") && g.query!.model === written &&
    g.query!.filterFields.length > 0 && g.pos < write.pos && inScopes(g.scopes, write.pos) && !lockedBefore(model, g.pos, write.pos));
  const guard = guarding[guarding.length - 1];
  // An update that does not touch the counted fields leaves the count as it was.
  if (!guard || (write.op !== "delete" && !(write.setFields ?? []).some((f) => guard.query!.filterFields.includes(f)))) return null;
  return {
    severity: "high",
    confidence: "medium",
    check: { site: guard.site, kind: "exists", scopes: guard.scopes },
    use: { site: write.site, kind: write.op === "delete" ? "delete" : "write" },
    message: `Line ${guard.site.line} counts \`${written}\` rows (${guard.query!.filterFields.join(", ")}) and line ${write.site.line} ${write.op === "delete" ? "removes" : "changes"} one of them on the strength of that count ` +
      `(${describeWindow(model, guard.pos, write.pos)} run in between); concurrent requests each count the same rows and each remove a different one, going below the limit the count protects (the last admin removed twice).`,
    remediation: `Lock the rows being counted (or their owning row) with \`select_for_update()\` inside \`transaction.atomic()\` before line ${guard.site.line}, and count and ${write.op === "delete" ? "delete" : "update"} in that block.`,
    race: rowsRace(),
    window: { from: guard.pos, to: write.pos },
  };
}

/** The write stands in a `try:` whose handlers catch IntegrityError. */
function integrityHandled(model: FunctionModel, pos: number): boolean {
  return model.fn.regions.some((r) => r.kind === "try-integrity" && pos >= r.span[0] && pos < r.span[1]);
}

function lockedBefore(model: FunctionModel, guardPos: number, writePos: number): boolean {
  const region = atomicContaining(model, guardPos, writePos);
  return region !== null && locksIn(model, region, guardPos).length > 0;
}

/** get_or_create() on lookup fields no unique constraint covers, for a model the tree defines. */
function unsafeGetOrCreate(model: FunctionModel, project: Project, write: WriteEvent): RuleHit | null {
  const modelName = write.query!.model;
  if (!modelName || !project.models.definedModels.has(modelName)) return null;
  // A custom manager's own get_or_create() decides what is looked up; its body is checked where it is defined.
  if (managerOverrides(project.models, modelName, write.method ?? "get_or_create") || managerOverrides(project.models, modelName, `a${write.method ?? "get_or_create"}`)) return null;
  const lookup = [...new Set([...write.query!.filterFields, ...write.lookupFields])];
  // A unique set that also takes the defaults: the losing create fails and get_or_create reads the winner's row.
  const maybeNull = write.maybeNullFields ?? [];
  if (lookup.length === 0 || uniqueCovers(project.models, modelName, [...lookup, ...(write.defaultFields ?? [])], maybeNull)) return null;
  // `**kwargs` may carry the fields of any unique set: only a model with none beyond its key is known unguarded.
  if (write.openLookup && project.models.byName.get(modelName)!.uniqueSets.some((set) => !(set.length === 1 && (set[0] === "pk" || set[0] === "id")))) return null;
  if (lockedBefore(model, write.pos, write.pos)) return null;
  const nullEscapes = maybeNull.length > 0 && uniqueCovers(project.models, modelName, [...lookup, ...(write.defaultFields ?? [])]);
  const nullable = nullableFields(project.models, modelName);
  return {
    severity: "medium",
    confidence: "high",
    check: { site: write.site, kind: "exists" },
    use: { site: write.site, kind: "create" },
    message: `\`${write.method ?? "get_or_create"}()\` on line ${write.site.line} looks up ${modelName} by (${lookup.join(", ")}), which no unique constraint covers` +
      (nullEscapes ? ` when ${maybeNull.filter((f) => nullable.has(f)).join(" or ")} is None (the value may be None here, and the database treats NULLs as distinct)` : "") +
      `: two concurrent calls can both miss and both create.`,
    remediation: `Add \`models.UniqueConstraint(fields=[${lookup.map((f) => `"${f}"`).join(", ")}], name=...)\` to ${modelName} (Django then retries the get after the IntegrityError), or lock the owning row with \`select_for_update()\` inside \`transaction.atomic()\` first.`,
    race: rowsRace(),
    window: { from: write.pos, to: write.pos },
  };
}
