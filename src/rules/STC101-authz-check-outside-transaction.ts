import type { FunctionModel } from "../analysis/model.js";
import type { Rule, RuleHit } from "../analysis/rule.js";
import { atomicContaining, checkPosition, inScopes, locksIn, useKindOf } from "../analysis/scopes.js";
import { authorizationRace } from "../analysis/race.js";
import { usesOf } from "../analysis/uses.js";
import { describeTransaction, describeWindow, isAdjacent } from "../analysis/window.js";
import type { CheckEvent, FunctionEvent } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { locksAuthzRows } from "../project/models.js";

const KIND_WORDS: Record<string, string> = {
  perm: "permission check",
  group: "group-membership check",
  membership: "membership/role check",
  "object-perm": "object permission check",
  helper: "authorization helper",
};

export const STC101: Rule = {
  meta: {
    code: "STC101",
    name: "authz-check-outside-transaction",
    defaultSeverity: "high",
    docs: {
      summary:
        "An authorization decision read from the database (permission, group, membership, role helper) guards a write or a disclosure, and nothing stops that decision from changing before the use.",
      why:
        "Between the check and the use, another request can revoke the permission or remove the user from the group. " +
        "Under PostgreSQL's default READ COMMITTED isolation, `transaction.atomic()` alone does not prevent this: every statement sees the latest committed data " +
        "and nothing is locked. The use then runs on a decision that is no longer true — a revoked billing clerk still pays the invoice, a removed member still reads the document. " +
        "With HTTP Basic Auth every request re-authenticates, so a slow endpoint hit in a loop keeps this window open. " +
        "Who can race it decides what is reported (DESIGN.md §1): when the guarded write itself changes access (two admins removing each other) any user can, and it is reported; " +
        "when only an administrator revoking access can, it is reported when the window is wide (network or file I/O, a queued task, loops of queries, sleeps, service calls) and always under `--strict`. " +
        "A check that can only deny (`if user.has_perm(...): raise`) grants nothing when stale and is not reported.",
      example: [
        "from django.http import HttpResponseForbidden, JsonResponse",
        "from .models import Invoice",
        "from .payments import gateway",
        "",
        "def pay_invoice(request, pk):",
        "    if not request.user.groups.filter(name=\"billing\").exists():",
        "        return HttpResponseForbidden()",
        "    invoice = Invoice.objects.get(pk=pk)",
        "    gateway.charge(invoice.amount)",
        "    Invoice.objects.filter(pk=pk).update(paid=True)  # expect: STC101",
        "    return JsonResponse({\"paid\": True})",
      ].join("\n"),
      useInstead: [
        "from django.contrib.auth import get_user_model",
        "from django.db import transaction",
        "from django.http import HttpResponseForbidden, JsonResponse",
        "from .models import Invoice",
        "from .payments import gateway",
        "",
        "def pay_invoice(request, pk):",
        "    with transaction.atomic():",
        "        # Lock the user row: membership changes that take the same lock wait for us.",
        "        user = get_user_model().objects.select_for_update().get(pk=request.user.pk)",
        "        if not user.groups.filter(name=\"billing\").exists():",
        "            return HttpResponseForbidden()",
        "        invoice = Invoice.objects.select_for_update().get(pk=pk)",
        "        gateway.charge(invoice.amount)",
        "        Invoice.objects.filter(pk=pk).update(paid=True)",
        "    return JsonResponse({\"paid\": True})",
      ].join("\n"),
      knownLimitations: [
        "Checks and uses are paired inside one function and through helper functions of the same file; a check in a permission class or another module is not seen yet.",
        "A lock counts as covering an authorization decision when it is taken on a user, membership, group, role, profile or permission row, or on a row filtered by the requesting user; the code that revokes access must take the same lock for this to serialise.",
        "Helpers named like checks (`can_*`, `has_role`, `ensure_*`) that are not defined in the scanned file are trusted by name (confidence medium).",
      ],
      references: [
        { title: "CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition", url: "https://cwe.mitre.org/data/definitions/367.html" },
        { title: "Django: select_for_update()", url: "https://docs.djangoproject.com/en/stable/ref/models/querysets/#select-for-update" },
        { title: "Django: Database transactions", url: "https://docs.djangoproject.com/en/stable/topics/db/transactions/" },
        { title: "PostgreSQL: Read Committed isolation level", url: "https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED" },
      ],
      fixes: {
        available: [
          {
            title: "Lock the requesting user's row (`User.objects.select_for_update().get(pk=request.user.pk)`) before the check, and run the check and its uses in one `transaction.atomic()` block (the existing one when there is one; `from django.db import transaction` is added when missing).",
            safety: "unsafe",
            why: "A revocation waits for the lock only if it locks or updates the user's row too (Django's admin user form saves it; a bare `user.groups.remove()` does not), so the code that revokes access may have to take the same lock; and the request now holds that lock for everything between the check and its last use.",
          },
        ],
        none: "the check is a decorator (`@permission_required`) or a DRF permission class, which run before the body; when it does not read `request.user`; or in an async view, where `transaction.atomic()` does not run.",
      },
    },
  },
  checkFunction(model, { project }) {
    const hits: RuleHit[] = [];
    const checks = model.events.filter((e): e is CheckEvent => e.type === "check" && AUTHZ_CHECK_KINDS.has(e.kind) && e.scopes.length > 0);
    if (checks.length === 0) return hits;
    for (const use of usesOf(model)) {
      if (foldedIntoQuery(model, use)) continue;
      // The nearest check that guards this use decides the pairing.
      const guarding = checks.filter((c) => checkPosition(c) < use.pos && inScopes(c.scopes, use.pos));
      if (guarding.length === 0) continue;
      if (guarding.some((c) => isProtected(model, project, c, use.pos))) continue;
      const check = guarding[guarding.length - 1]!;
      hits.push({ ...report(model, check, use), race: authorizationRace(project, check, [use], model.defs), window: { from: checkPosition(check), to: use.pos } });
    }
    return hits;
  },
};

/** The use re-checks authorization itself: its query filters by the requesting user. */
function foldedIntoQuery(model: FunctionModel, use: FunctionEvent): boolean {
  if (use.type === "write") {
    if ((use.op === "update" || use.op === "delete") && use.query?.filterRefsUser && use.targetDef === null) return true;
    return false;
  }
  if (use.type === "disclose") {
    return use.defs.length > 0 && use.defs.every((id) => model.defs[id]?.query?.filterRefsUser === true);
  }
  return false;
}

/** Check and use share an atomic block in which the rows the decision depends on were locked first. */
function isProtected(model: FunctionModel, project: Project, check: CheckEvent, usePos: number): boolean {
  const at = checkPosition(check);
  const region = atomicContaining(model, at, usePos);
  if (!region) return false;
  if ((check.onDefs ?? []).some((id) => model.defs[id]?.query?.locked)) {
    return true;
  }
  return locksIn(model, region, at).some((lock) => locksAuthzRows(project.models, lock.query));
}

function report(model: FunctionModel, check: CheckEvent, use: FunctionEvent & { type: "write" | "disclose" }): RuleHit {
  const useKind = use.type === "write" ? useKindOf(use) : "disclose";
  const at = checkPosition(check);
  const region = atomicContaining(model, at, use.pos);
  const adjacent = isAdjacent(model, check, use.pos, use.site.line);
  const severity = adjacent ? "low" : use.type === "disclose" ? "medium" : "high";
  const what = KIND_WORDS[check.kind] ?? "authorization check";
  const window = describeWindow(model, at, use.pos);
  const action = use.type === "disclose" ? "discloses data" : useKind === "enqueue" ? "enqueues a task" : `${useKind === "write" ? "writes" : useKind === "delete" ? "deletes" : "creates"} rows`;
  const where = check.file && check.file !== model.file.path ? `${check.file}:${check.site.line}` : `line ${check.site.line}`;
  const message =
    `The ${what} on ${where} (\`${check.site.text}\`)${check.file ? ", run by DRF before the handler," : ""} guards line ${use.site.line}, which ${action}, ` +
    `but the decision can be revoked in between (${window} run in the window)` +
    (region ? `; ${describeTransaction(region)} takes no lock on the rows the check reads, so it does not stop a concurrent revocation.` : " and no transaction holds it.");
  const remediation = check.file && check.file !== model.file.path
    ? `DRF evaluates this permission class in initial()/get_object(), before \`${model.fn.name}\` and outside any transaction it opens. Re-check the decision where it is used: inside \`transaction.atomic()\` in \`${model.fn.name}\`, lock the requesting user's row (\`User.objects.select_for_update().get(pk=request.user.pk)\`) and repeat the check before line ${use.site.line}; or fold it into the write's query (\`.filter(..., <relation>=request.user)\`).`
    : region
    ? `Inside the atomic block, before line ${check.site.line}, lock the requesting user's row (\`User.objects.select_for_update().get(pk=request.user.pk)\`) and run the check on that locked row; make the code that changes groups or permissions take the same lock. Or fold the authorization into the query on line ${use.site.line}, e.g. \`.filter(..., <relation>=request.user)\`.`
    : `Open \`with transaction.atomic():\` before line ${check.site.line}, lock the requesting user's row first (\`User.objects.select_for_update().get(pk=request.user.pk)\`), and keep the check and line ${use.site.line} inside that block; or fold the authorization into the query itself, e.g. \`.filter(pk=pk, <relation>=request.user)\`, so the database decides at the moment of use.`;
  const hit: RuleHit = {
    severity,
    confidence: check.byName ? "medium" : "high",
    check: { site: check.site, kind: check.kind, ...(check.file ? { file: check.file } : { scopes: check.scopes }) },
    use: { site: use.site, kind: useKind },
    message,
    remediation,
  };
  if (region) hit.transaction = region.site;
  return hit;
}
