import type { FunctionModel } from "../analysis/model.js";
import type { Rule, RuleHit } from "../analysis/rule.js";
import { userAttributeRace } from "../analysis/race.js";
import { checkPosition, inScopes, useKindOf } from "../analysis/scopes.js";
import { usesOf } from "../analysis/uses.js";
import { describeWindow, slowWork } from "../analysis/window.js";
import type { CheckEvent, FunctionEvent } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { isAuthzModel } from "../project/models.js";

export const STC103: Rule = {
  meta: {
    code: "STC103",
    name: "stale-user-attribute",
    defaultSeverity: "high",
    docs: {
      summary:
        "An authorization decision taken from `request.user`'s in-memory attributes (`is_staff`, `is_superuser`, a role or tier field, `user.profile.*`) guards a write or a disclosure, with real work in between and no re-read of the user.",
      why:
        "`request.user` is loaded once, when the request is authenticated; its attributes are never re-read. With HTTP Basic Auth that happens on every request, " +
        "but within the request an administrator can demote the user, or remove `is_staff`, while a slow view (a payment call, a loop of queries) is still running — " +
        "and the view finishes the privileged action on the snapshot. The longer the window, the easier it is to keep a revoked privilege alive by replaying slow requests. " +
        "A deny-direction check (`if request.user.is_staff: raise Http404`, `if user.is_banned: return`) grants nothing when stale and is not reported; an attribute only privileged code changes is reported only with `--strict` unless the window is wide.",
      example: [
        "from django.http import HttpResponseForbidden, JsonResponse",
        "from .models import Refund",
        "from .payments import gateway",
        "",
        "def issue_refund(request, pk):",
        "    if not request.user.is_staff:",
        "        return HttpResponseForbidden()",
        "    refund = Refund.objects.get(pk=pk)",
        "    gateway.refund(refund.amount)",
        "    refund.approved_by = request.user",
        "    refund.save()  # expect: STC103",
        "    return JsonResponse({\"ok\": True})",
      ].join("\n"),
      useInstead: [
        "from django.http import HttpResponseForbidden, JsonResponse",
        "from .models import Refund",
        "from .payments import gateway",
        "",
        "def issue_refund(request, pk):",
        "    refund = Refund.objects.get(pk=pk)",
        "    gateway.refund(refund.amount)",
        "    # Re-read the user right before the privileged write.",
        "    request.user.refresh_from_db()",
        "    if not request.user.is_staff:",
        "        return HttpResponseForbidden()",
        "    refund.approved_by = request.user",
        "    refund.save()",
        "    return JsonResponse({\"ok\": True})",
      ].join("\n"),
      knownLimitations: [
        "Role-like attributes are recognised by name (`role`, `tier`, `plan`, `level`, `is_*`, `can_*`, `profile.*`); a custom attribute with another name is not seen.",
        "Re-validation is recognised as `request.user.refresh_from_db()` or a fresh query of a user/profile model filtered by the requesting user between check and use.",
      ],
      references: [
        { title: "CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition", url: "https://cwe.mitre.org/data/definitions/367.html" },
        { title: "Django: request.user and AuthenticationMiddleware", url: "https://docs.djangoproject.com/en/stable/ref/request-response/#django.http.HttpRequest.user" },
        { title: "Django: Model.refresh_from_db()", url: "https://docs.djangoproject.com/en/stable/ref/models/instances/#refreshing-objects-from-database" },
        { title: "DRF: BasicAuthentication", url: "https://www.django-rest-framework.org/api-guide/authentication/#basicauthentication" },
      ],
      fixes: {
        available: [
          {
            title: "Right before the uses, re-read the requesting user with `select_for_update()` inside `transaction.atomic()` and repeat the check on the fresh row: the `if` and its failure branch (`if not locked_user.is_staff: raise PermissionDenied`), or the test of `@staff_member_required` or `@user_passes_test(...)`, raising PermissionDenied.",
            safety: "unsafe",
            why: "A demotion updates the user's row, so it waits for the lock and the repeated check sees it; but a request that passed the first check can now be refused, after the slow work between the two has run (and with PermissionDenied where a decorator would have redirected to the login page).",
          },
        ],
        none: "the check is an `if` with an `else` or one that neither returns nor raises, another decorator, does not read `request.user` directly, or the view is async.",
      },
    },
  },
  checkFunction(model, { project }) {
    const hits: RuleHit[] = [];
    const checks = model.events.filter((e): e is CheckEvent => e.type === "check" && (e.kind === "staff" || e.kind === "user-attr") && e.scopes.length > 0);
    if (checks.length === 0) return hits;
    for (const use of usesOf(model)) {
      const guarding = checks.filter((c) => checkPosition(c) < use.pos && inScopes(c.scopes, use.pos));
      // Only slow work in the window (I/O, a sleep, a slow helper, a loop of queries) gives a
      // demotion time to land; a query or two is the normal shape of every staff-only view.
      const stale = guarding.filter((c) => slowWork(model, checkPosition(c), use.pos) && !revalidated(model, project, checkPosition(c), use.pos));
      if (stale.length === 0 || stale.length < guarding.length) continue;
      const check = stale[stale.length - 1]!;
      hits.push({ ...report(model, check, use), race: userAttributeRace(project, model, check, check.field ?? null, [use]), window: { from: checkPosition(check), to: use.pos } });
    }
    return hits;
  },
};

/** The user is re-read between check and use: refresh_from_db() or a fresh query for them. */
function revalidated(model: FunctionModel, project: Project, from: number, to: number): boolean {
  return model.events.some(
    (e) =>
      e.pos > from && e.pos < to &&
      ((e.type === "refresh" && (e.def === -1 || model.defs[e.def]?.origin === "request-user") && !e.permCache) ||
        ((e.type === "fetch" || (e.type === "check" && e.query !== undefined)) && e.query!.filterRefsUser && isAuthzModel(project.models, e.query!.model))),
  );
}

function report(model: FunctionModel, check: CheckEvent, use: FunctionEvent & { type: "write" | "disclose" }): RuleHit {
  const at = checkPosition(check);
  const useKind = use.type === "write" ? useKindOf(use) : "disclose";
  return {
    severity: use.type === "disclose" ? "medium" : "high",
    confidence: check.kind === "staff" ? "high" : "medium",
    check: { site: check.site, kind: check.kind, scopes: check.scopes },
    use: { site: use.site, kind: useKind },
    message:
      `Line ${check.site.line} decides on \`${check.site.text}\`, an attribute of request.user loaded when the request was authenticated, ` +
      `and line ${use.site.line} acts on that decision after ${describeWindow(model, at, use.pos)}; a demotion committed in between is not seen.`,
    remediation:
      `Re-read the user right before line ${use.site.line} (\`request.user.refresh_from_db()\`, or \`User.objects.get(pk=request.user.pk)\` — inside \`transaction.atomic()\` with \`select_for_update()\` if the demotion must wait for you) and repeat the check there; or move the check next to the use so no slow work runs in between.`,
  };
}
