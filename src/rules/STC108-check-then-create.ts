import type { FunctionModel } from "../analysis/model.js";
import type { Rule, RuleHit } from "../analysis/rule.js";
import { atomicContaining, inScopes, locksIn } from "../analysis/scopes.js";
import { describeWindow } from "../analysis/window.js";
import type { CheckEvent, WriteEvent } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { isExternalModel, uniqueCovers } from "../project/models.js";

export const STC108: Rule = {
  meta: {
    code: "STC108",
    name: "check-then-create",
    defaultSeverity: "medium",
    docs: {
      summary:
        "An `exists()`/`count()`/`len()` guard (uniqueness, a quota, \"one pending request per user\") is followed by a `create()` of the same model, with no unique constraint and no lock to make the guard hold; or `get_or_create()` on fields that are not unique.",
      why:
        "Two concurrent requests both run the guard, both see no row (or a count under the limit), and both create: a user gets two pending requests, six invoices on a quota of five, two accounts for one e-mail address. " +
        "`get_or_create()` is itself a check-then-create: Django's documentation warns it is only race-free when the lookup fields are backed by a unique constraint.",
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
        "Unique constraints are read from models defined in the scanned tree (`unique=True`, `primary_key=True`, `OneToOneField`, `unique_together`, `UniqueConstraint`) plus Django's User, Group and Permission; constraints added only in migrations or in the database are not seen.",
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
    const guards = model.events.filter((e): e is CheckEvent => e.type === "check" && e.kind === "exists" && e.query !== undefined && e.scopes.length > 0);
    for (const write of model.events) {
      if (write.type !== "write" || !write.query) continue;
      if (write.op === "get_or_create") {
        // A helper's get_or_create is reported in the helper, not again at each call.
        if (write.via) continue;
        const hit = unsafeGetOrCreate(model, project, write);
        if (hit) hits.push(hit);
        continue;
      }
      if (write.op !== "create" && write.op !== "bulk") continue;
      const guarding = guards.filter((g) => g.pos < write.pos && inScopes(g.scopes, write.pos) && sameTarget(g, write) &&
        // A third-party model's constraints are not in the tree: say nothing rather than guess.
        !(g.query!.model !== null && isExternalModel(project.models, model.file, g.query!.model)));
      if (guarding.length === 0) continue;
      if (guarding.some((g) => uniqueCovers(project.models, g.query!.model, g.query!.filterFields) || lockedBefore(model, g.pos, write.pos))) continue;
      // create(pk=…): the row's identity is fixed, so a concurrent duplicate fails with IntegrityError.
      if (write.lookupFields.includes("pk") || write.lookupFields.includes("id")) continue;
      const guard = guarding[guarding.length - 1]!;
      const target = guard.query!.model ?? guard.query!.source;
      const fields = guard.query!.filterFields;
      const known = guard.query!.model !== null && project.models.byName.has(guard.query!.model);
      hits.push({
        severity: "medium",
        confidence: known || guard.query!.model === null ? "high" : "medium",
        check: { site: guard.site, kind: "exists" },
        use: { site: write.site, kind: "create" },
        message:
          `Line ${guard.site.line} tests \`${target}\` rows (${guard.guard === "except" ? "get() / except DoesNotExist" : "exists/count"}) and line ${write.site.line} creates one based on the answer ` +
          `(${describeWindow(model, guard.pos, write.pos)} run in between); concurrent requests all pass the test and all create.` +
          (guard.query!.model && !known ? ` No model \`${guard.query!.model}\` is defined in the scanned tree, so its constraints are unknown.` : ""),
        remediation:
          fields.length > 0 && (guard.method === "exists" || guard.method === "bool")
            ? `Add \`models.UniqueConstraint(fields=[${fields.map((f) => `"${f}"`).join(", ")}], name=...)\` to ${target} and catch IntegrityError (or use \`get_or_create()\` on those fields); for a quota, lock the owning row with \`select_for_update()\` inside \`transaction.atomic()\` before counting.`
            : `Lock the owning row (e.g. the user or account) with \`select_for_update()\` inside \`transaction.atomic()\` before line ${guard.site.line}, and create inside the same block; or enforce the rule with a database constraint and handle IntegrityError.`,
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

function lockedBefore(model: FunctionModel, guardPos: number, writePos: number): boolean {
  const region = atomicContaining(model, guardPos, writePos);
  return region !== null && locksIn(model, region, guardPos).length > 0;
}

/** get_or_create() on lookup fields no unique constraint covers, for a model the tree defines. */
function unsafeGetOrCreate(model: FunctionModel, project: Project, write: WriteEvent): RuleHit | null {
  const modelName = write.query!.model;
  if (!modelName || !project.models.definedModels.has(modelName)) return null;
  const lookup = [...new Set([...write.query!.filterFields, ...write.lookupFields])];
  if (lookup.length === 0 || uniqueCovers(project.models, modelName, lookup)) return null;
  if (lockedBefore(model, write.pos, write.pos)) return null;
  return {
    severity: "medium",
    confidence: "high",
    check: { site: write.site, kind: "exists" },
    use: { site: write.site, kind: "create" },
    message: `\`get_or_create()\` on line ${write.site.line} looks up ${modelName} by (${lookup.join(", ")}), which no unique constraint covers: two concurrent calls can both miss and both create.`,
    remediation: `Add \`models.UniqueConstraint(fields=[${lookup.map((f) => `"${f}"`).join(", ")}], name=...)\` to ${modelName} (Django then retries the get after the IntegrityError), or lock the owning row with \`select_for_update()\` inside \`transaction.atomic()\` first.`,
  };
}
