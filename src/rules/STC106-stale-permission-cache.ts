import type { FunctionModel } from "../analysis/model.js";
import type { Rule, RuleHit } from "../analysis/rule.js";
import { decoratorSite } from "../analysis/scopes.js";
import type { CheckEvent, StoreEvent, WriteEvent } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import { type Project, summaryOf } from "../project/buildProject.js";

const PERMISSION_RELATIONS = /\.(groups|user_permissions|user_set|permissions)$/;
const CACHED_PERMISSION_READS = /^(a?has_perms?|a?get_all_permissions|a?get_group_permissions|a?get_user_permissions|has_module_perms)$/;
const PROCESS_CACHES = /(^|\.)(lru_cache|cache)(\(|$)/;

export const STC106: Rule = {
  meta: {
    code: "STC106",
    name: "stale-permission-cache",
    defaultSeverity: "high",
    docs: {
      summary:
        "`has_perm()` answered from a cache that no longer matches the database: after groups or permissions changed in the same flow on the same user object, or from authorization decisions the application caches (`cache.set`, `lru_cache` on a permission helper, a module-level dict).",
      why:
        "Django's ModelBackend caches a user's permissions on the user object (`_perm_cache`, `_user_perm_cache`, `_group_perm_cache`) the first time `has_perm()` runs. " +
        "Adding or removing groups afterwards does not clear it, and neither does `refresh_from_db()`: the next `has_perm()` on that object answers from the old cache. " +
        "Application-level caches are worse: a decision stored with `cache.set()`, in an `lru_cache`d helper or in a module-level dict outlives the request and survives a revocation until it expires — or forever.",
      example: [
        "from django.contrib.auth.models import Group",
        "from django.http import JsonResponse",
        "",
        "def leave_billing(request):",
        "    user = request.user",
        "    user.has_perm(\"billing.pay_invoice\")",
        "    user.groups.remove(Group.objects.get(name=\"billing\"))",
        "    still_allowed = user.has_perm(\"billing.pay_invoice\")  # expect: STC106",
        "    return JsonResponse({\"allowed\": still_allowed})",
      ].join("\n"),
      useInstead: [
        "from django.contrib.auth import get_user_model",
        "from django.contrib.auth.models import Group",
        "from django.http import JsonResponse",
        "",
        "def leave_billing(request):",
        "    user = request.user",
        "    user.groups.remove(Group.objects.get(name=\"billing\"))",
        "    # A fresh instance has an empty permission cache.",
        "    user = get_user_model().objects.get(pk=user.pk)",
        "    still_allowed = user.has_perm(\"billing.pay_invoice\")",
        "    return JsonResponse({\"allowed\": still_allowed})",
      ].join("\n"),
      knownLimitations: [
        "The stale `has_perm()` must be on the same variable (or `request.user`) as the change, inside one function.",
        "Decisions cached under a key computed elsewhere are recognised only when the stored value is visibly a check or a call to a helper whose body returns one.",
      ],
      references: [
        { title: "CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition", url: "https://cwe.mitre.org/data/definitions/367.html" },
        { title: "Django: Permission caching", url: "https://docs.djangoproject.com/en/stable/topics/auth/default/#permission-caching" },
        { title: "Django: The cache framework", url: "https://docs.djangoproject.com/en/stable/topics/cache/" },
        { title: "Python: functools.lru_cache", url: "https://docs.python.org/3/library/functools.html#functools.lru_cache" },
      ],
      fixes: {
        available: [],
        none: "re-fetching the user before `has_perm()`, or removing an application cache of decisions, changes which object the rest of the code holds or what it caches: it is left to you.",
      },
    },
  },
  checkFunction(model, { project }) {
    return [...staleAfterChange(model), ...cachedDecisions(model, project)];
  },
};

/** A permission/group change on a user object followed by has_perm() on the same object. */
function staleAfterChange(model: FunctionModel): RuleHit[] {
  const hits: RuleHit[] = [];
  const changes = model.events.filter((e): e is WriteEvent => e.type === "write" && e.op === "m2m" && PERMISSION_RELATIONS.test(e.query?.source ?? ""));
  if (changes.length === 0) return hits;
  for (const read of model.events) {
    if (read.type !== "check" || read.kind !== "perm" || !read.receiver) continue;
    const method = read.method ?? "";
    if (!CACHED_PERMISSION_READS.test(method)) continue;
    const change = [...changes].reverse().find((c) => c.pos < read.pos && affects(model, c, read));
    if (!change) continue;
    const subject = read.receiver;
    const cleared = model.events.some((e) => e.type === "refresh" && e.permCache && e.pos > change.pos && e.pos < read.pos);
    const refetched = read.receiver !== "request.user" && model.defs.some((d) => d.name === subject && d.pos > change.pos && d.pos < read.pos && d.origin === "fetch");
    if (cleared || refetched) continue;
    hits.push({
      severity: "high",
      confidence: "high",
      check: { site: change.site, kind: "perm" },
      use: { site: read.site, kind: "authorize" },
      message:
        `Line ${change.site.line} changes ${change.query?.source ?? "the user's permissions"}, but \`${subject}\` keeps ModelBackend's permission cache from before the change, ` +
        `so the ${method}() on line ${read.site.line} can answer from the old permissions (refresh_from_db() does not clear that cache).`,
      remediation:
        `Re-fetch the user after the change (\`${subject} = get_user_model().objects.get(pk=${subject}.pk)\`) before line ${read.site.line}, or delete the caches (\`_perm_cache\`, \`_user_perm_cache\`, \`_group_perm_cache\`) from the instance.`,
    });
  }
  return hits;
}

/** Does the permission change concern the user the check reads? */
function affects(model: FunctionModel, change: WriteEvent, read: CheckEvent): boolean {
  const source = change.query?.source ?? "";
  const root = source.replace(PERMISSION_RELATIONS, "");
  if (root === read.receiver) return true;
  // group.user_set.add(user) / group.permissions.add(p): the user passed, or any user loaded before.
  const readDefs = read.onDefs ?? [];
  if (/\.user_set$/.test(source)) return readDefs.some((d) => change.defs.includes(d)) || read.receiver === "request.user" && change.argsRefUser === true;
  if (/\.permissions$/.test(source)) return readDefs.some((d) => (model.defs[d]?.pos ?? Infinity) < change.pos) || read.receiver === "request.user";
  return false;
}

/** Decisions stored in caches that outlive the request. */
function cachedDecisions(model: FunctionModel, project: Project): RuleHit[] {
  const hits: RuleHit[] = [];
  const isCheck = (store: StoreEvent): boolean => {
    if (store.valueCheck && AUTHZ_CHECK_KINDS.has(store.valueCheck)) return true;
    if (!store.valueCallee) return false;
    const target = project.calls.calleeOf(model.file, model.fn, store.valueCallee);
    return target !== null && Boolean(summaryOf(project, target.file, target.fn)?.returnsCheck);
  };
  for (const event of model.events) {
    if (event.type !== "store" || !isCheck(event)) continue;
    if (event.target === "cache" || model.file.moduleDicts.includes(event.target)) {
      hits.push({
        severity: "high",
        confidence: "high",
        check: null,
        use: { site: event.site, kind: "cache" },
        message: `Line ${event.site.line} stores an authorization decision in ${event.target === "cache" ? "the Django cache" : `the module-level dict \`${event.target}\``}, which outlives the request: after a revocation, the cached answer keeps granting access until it expires${event.target === "cache" ? "" : " (never, for a module dict)"}.`,
        remediation: "Do not cache authorization decisions across requests; recompute them (has_perm() caches per request already), or delete the cached entry in the code that changes groups and permissions, in the same transaction.",
      });
    }
  }
  const decorator = model.fn.decorators.find((d) => PROCESS_CACHES.test(d.split("(")[0]!) || /^(functools\.)?(lru_cache|cache)(\(|$)/.test(d));
  const summary = summaryOf(project, model.file, model.fn);
  if (decorator && summary?.returnsCheck) {
    hits.push({
      severity: "high",
      confidence: "high",
      check: null,
      use: { site: decoratorSite(model.fn, decorator), kind: "cache" },
      message: `\`@${decorator}\` memoises \`${model.fn.name}\`, which returns an authorization decision, for the life of the process: a user whose access is revoked keeps getting the cached answer.`,
      remediation: `Remove the cache from \`${model.fn.name}\` (ModelBackend already caches permissions per request on the user object), or key it on something that changes when access does and clear it on revocation.`,
    });
  }
  return hits;
}
