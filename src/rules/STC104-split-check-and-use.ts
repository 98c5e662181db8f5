import type { FunctionModel } from "../analysis/model.js";
import type { AnalysisContext, Rule, RuleHit } from "../analysis/rule.js";
import { inScopes, useKindOf } from "../analysis/scopes.js";
import { checkedElsewhereRace } from "../analysis/race.js";
import { type Use, usesOf } from "../analysis/uses.js";
import { checkedStateMutable } from "../analysis/stateWrites.js";
import type { CheckEvent, FileFacts, FunctionEvent, FunctionFacts, StoreEvent } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { classOf, findMethod } from "../project/classes.js";
import { methodOfClass } from "../project/permissions.js";

const TASK_DECORATOR = /(^|\.)(shared_task|task)(\(|$)/;
const HANDLERS = /\.(get|post|put|patch|delete)$/;
const SETUP_METHODS = ["dispatch", "initial", "setup"];
const OBJECT_WRITE_HOOKS = ["perform_update", "perform_destroy"];

export const STC104: Rule = {
  meta: {
    code: "STC104",
    name: "split-check-and-use",
    defaultSeverity: "high",
    docs: {
      summary:
        "The check and the use live in different places: a flag in `request.session` trusted by a later request, a check in `dispatch()`/`initial()` or a DRF permission class while the handler writes, or a decision handed to a Celery task that acts without re-checking.",
      why:
        "A decision that travels — in the session, through an attribute set in `dispatch()`, or as an argument of a task that runs seconds or minutes later — is as old as the moment it was taken. " +
        "Nothing re-reads the database when it is used: a permission revoked, a group left or an invoice already paid in between is not seen. Session flags are worse: they last as long as the session, across every later request.",
      example: [
        "from celery import shared_task",
        "from .models import Invoice",
        "",
        "def approve(request, pk):",
        "    if not request.user.has_perm(\"billing.approve_invoice\"):",
        "        raise PermissionError",
        "    pay_invoice.delay(pk)  # expect: STC101",
        "",
        "@shared_task",
        "def pay_invoice(pk):",
        "    invoice = Invoice.objects.get(pk=pk)",
        "    invoice.paid = True",
        "    invoice.save()  # expect: STC104",
      ].join("\n"),
      useInstead: [
        "from celery import shared_task",
        "from django.db import transaction",
        "from .models import Invoice",
        "",
        "def approve(request, pk):",
        "    with transaction.atomic():",
        "        approved = Invoice.objects.filter(pk=pk, approver_group__user=request.user).update(approved=True)",
        "    if approved:",
        "        transaction.on_commit(lambda: pay_invoice.delay(pk))",
        "",
        "@shared_task",
        "def pay_invoice(pk):",
        "    with transaction.atomic():",
        "        invoice = Invoice.objects.select_for_update().get(pk=pk)",
        "        if not invoice.approved or invoice.paid:",
        "            return",
        "        invoice.paid = True",
        "        invoice.save()",
      ].join("\n"),
      knownLimitations: [
        "Session flags are matched by their literal key; keys built at run time are not followed.",
        "Celery tasks are recognised by `@shared_task`, `@app.task` or `@task` on a function in the scanned tree, called with `.delay()` or `.apply_async()`.",
        "For DRF permission classes, only object checks on fields some code assigns are reported (an `owner` set once at creation is safe).",
      ],
      references: [
        { title: "CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition", url: "https://cwe.mitre.org/data/definitions/367.html" },
        { title: "DRF: Object level permissions (check_object_permissions in get_object)", url: "https://www.django-rest-framework.org/api-guide/permissions/#object-level-permissions" },
        { title: "Django: How to use sessions", url: "https://docs.djangoproject.com/en/stable/topics/http/sessions/" },
        { title: "Celery: Tasks — state and race conditions", url: "https://docs.celeryq.dev/en/stable/userguide/tasks.html#state" },
      ],
      fixes: {
        available: [],
        none: "the check and the use live in different places (a session flag, a queued task, a permission class, `dispatch()`): the check has to be repeated where the write happens, which depends on what the code means.",
      },
    },
  },
  // Project-wide: a session flag is set in one function and trusted in another, a task is
  // queued in one and runs in another. Both indexes are built once per scan.
  checkProject(context) {
    const trusted = trustedSessionKeys(context);
    const enqueues = checkedEnqueues(context.project);
    return (model) => [...sessionFlags(model, trusted), ...deferredTasks(model, context.project, enqueues), ...setupChecks(model, context.project)];
  },
};

const RECHECK_KINDS = new Set([...AUTHZ_CHECK_KINDS, "state" as const]);

/** The use is guarded by a check of its own in this function. */
function guardedHere(model: FunctionModel, use: FunctionEvent, kinds: ReadonlySet<string>): boolean {
  return model.events.some((e) => e.type === "check" && kinds.has(e.kind) && e.guard !== "decorator" && e.pos < use.pos && inScopes(e.scopes, use.pos));
}

function uses(model: FunctionModel): Use[] {
  return usesOf(model).filter((e) => e.type === "disclose" || e.op !== "enqueue");
}

function checkRef(file: FileFacts, model: FunctionModel, check: { site: CheckEvent["site"]; kind: string }): RuleHit["check"] {
  return file.path === model.file.path ? { site: check.site, kind: check.kind } : { site: check.site, kind: check.kind, file: file.path };
}

// ---- (a) session flags ---------------------------------------------------------------------

type TrustedKeys = Map<string, { file: FileFacts; fn: FunctionFacts; store: StoreEvent }>;

/**
 * Session keys written after, under, or from an authorization or state check; the checks include
 * the configuration's `check-helpers`, as in the models the rules run on.
 */
function trustedSessionKeys(context: AnalysisContext): TrustedKeys {
  const out: TrustedKeys = new Map();
  for (const file of context.project.files) {
    // Session stores come only from a function's own code (helper summaries carry none), so
    // models are asked for only where there are some.
    if (!file.functions.some((fn) => fn.events.some((e) => e.type === "store" && e.target === "session"))) continue;
    for (const model of context.modelsOf(file)) {
      for (const event of model.events) {
        if (event.type !== "store" || event.target !== "session" || event.key === undefined || out.has(event.key)) continue;
        const fromCheck = event.valueCheck !== null && RECHECK_KINDS.has(event.valueCheck);
        if (fromCheck || guardedHere(model, event, RECHECK_KINDS)) out.set(event.key, { file, fn: model.fn, store: event });
      }
    }
  }
  return out;
}

function sessionFlags(model: FunctionModel, trusted: TrustedKeys): RuleHit[] {
  const checks = model.events.filter((e): e is CheckEvent => e.type === "check" && e.kind === "session" && e.key !== undefined && e.scopes.length > 0);
  if (checks.length === 0) return [];
  const hits: RuleHit[] = [];
  for (const use of uses(model)) {
    const check = [...checks].reverse().find((c) => c.pos < use.pos && inScopes(c.scopes, use.pos) && trusted.has(c.key!));
    if (!check || guardedHere(model, use, AUTHZ_CHECK_KINDS)) continue;
    const origin = trusted.get(check.key!)!;
    hits.push({
      severity: use.type === "disclose" ? "medium" : "high",
      confidence: "high",
      check: checkRef(origin.file, model, { site: origin.store.site, kind: "session" }),
      use: { site: use.site, kind: use.type === "disclose" ? "disclose" : useKindOf(use) },
      message:
        `Line ${use.site.line} trusts \`request.session["${check.key}"]\` (read on line ${check.site.line}), which \`${origin.fn.name}\` set in ${origin.file.path}:${origin.store.site.line} after a check in an earlier request. ` +
        "The session keeps that answer for its whole lifetime; a revocation in between is never seen.",
      remediation: `Re-check against the database where the flag is used (the permission, group or state test that led to \`request.session["${check.key}"]\`), inside \`transaction.atomic()\` with \`select_for_update()\` on the rows it depends on; keep only non-authoritative hints in the session.`,
      race: { kind: "revocation", writers: [], by: "a revocation after the earlier request is never seen" },
      window: "deferred",
    });
  }
  return hits;
}

// ---- (b) deferred tasks ---------------------------------------------------------------------

function deferredTasks(model: FunctionModel, project: Project, enqueues: Map<FunctionFacts, CheckedEnqueue>): RuleHit[] {
  if (!model.fn.decorators.some((d) => TASK_DECORATOR.test(d))) return [];
  const origin = enqueues.get(model.fn);
  if (!origin) return [];
  const hits: RuleHit[] = [];
  for (const use of uses(model)) {
    if (use.type !== "write" || guardedHere(model, use, RECHECK_KINDS)) continue;
    hits.push({
      severity: "high",
      confidence: "high",
      check: checkRef(origin.file, model, { site: origin.check.site, kind: origin.check.kind }),
      use: { site: use.site, kind: useKindOf(use) },
      message:
        `The task \`${model.fn.name}\` writes on line ${use.site.line} without checking anything itself; the decision was taken in \`${origin.fn.name}\` (${origin.file.path}:${origin.check.site.line}) before the task was queued, ` +
        "and the task runs later, in another process, on whatever the database holds then.",
      remediation: `Re-check inside the task before line ${use.site.line}: open \`transaction.atomic()\`, fetch the rows with \`select_for_update()\`, test the state or permission again and return if it no longer holds.`,
      race: checkedElsewhereRace(project, origin.file.path, origin.fn, origin.fn.defs, origin.check),
      window: "deferred",
    });
  }
  return hits;
}

type CheckedEnqueue = { file: FileFacts; fn: FunctionFacts; check: CheckEvent };

/** For each task, the first place in the project that enqueues it after a check. */
function checkedEnqueues(project: Project): Map<FunctionFacts, CheckedEnqueue> {
  const index = new Map<FunctionFacts, CheckedEnqueue>();
  for (const file of project.files) {
    for (const fn of file.functions) {
      for (const event of fn.events) {
        if (event.type !== "write" || event.op !== "enqueue" || !event.task) continue;
        const target = project.calls.calleeOf(file, fn, event.task);
        if (!target || index.has(target.fn)) continue;
        const check = [...fn.events].reverse().find(
          (e): e is CheckEvent => e.type === "check" && RECHECK_KINDS.has(e.kind) && e.pos < event.pos && inScopes(e.scopes, event.pos),
        );
        if (check && !committedBefore(fn, check, event.pos)) index.set(target.fn, { file, fn, check });
      }
    }
  }
  return index;
}

/**
 * The view wrote the checked object's state between the check and the enqueue (a status set to
 * "queued" and saved): the decision is committed, and the task carries it out rather than
 * trusting a stale answer.
 */
function committedBefore(fn: FunctionFacts, check: CheckEvent, enqueuedAt: number): boolean {
  if (check.kind !== "state" || check.subjectDef === undefined) return false;
  return fn.events.some((e) => e.pos > check.pos && e.pos < enqueuedAt && e.type === "write" && e.op !== "enqueue" &&
    (e.targetDef === check.subjectDef || e.defs.includes(check.subjectDef!)));
}

// ---- (c) dispatch()/initial() and (d) DRF object permissions --------------------------------

function setupChecks(model: FunctionModel, project: Project): RuleHit[] {
  const cls = classOf(project.index, model.file, model.fn);
  if (!cls) return [];
  const short = model.fn.name.slice(cls.name.length + 1);
  const isHandler = HANDLERS.test(model.fn.name) || model.fn.decorators.some((d) => /(^|\.)action\b/.test(d));
  const sources: { file: FileFacts; fn: FunctionFacts; check: CheckEvent }[] = [];
  if (isHandler) {
    for (const method of SETUP_METHODS) {
      const found = findMethod(project.index, model.file, cls, method);
      if (!found) continue;
      for (const e of found.fn.events) {
        if (e.type !== "check" || !RECHECK_KINDS.has(e.kind) || e.scopes.length === 0) continue;
        // DRF's own dispatch to permission classes is modelled through the permission classes.
        if (e.receiver === "self" && (e.method === "check_permissions" || e.method === "check_object_permissions")) continue;
        if (e.kind === "state" && !checkedStateMutable(project, found.fn.defs, e)) continue;
        sources.push({ file: found.file, fn: found.fn, check: e });
      }
    }
  }
  if (OBJECT_WRITE_HOOKS.includes(short)) sources.push(...objectPermissionChecks(model, project, cls.name));
  if (sources.length === 0) return [];
  const hits: RuleHit[] = [];
  for (const use of uses(model)) {
    if (use.type !== "write" || guardedHere(model, use, RECHECK_KINDS)) continue;
    const origin = sources[sources.length - 1]!;
    hits.push({
      severity: "high",
      confidence: origin.check.byName ? "medium" : "high",
      check: checkRef(origin.file, model, { site: origin.check.site, kind: origin.check.kind }),
      use: { site: use.site, kind: useKindOf(use) },
      message:
        `\`${origin.fn.name}\` checks on line ${origin.check.site.line} (\`${origin.check.site.text}\`) before \`${model.fn.name}\` runs, on an object read without a lock; ` +
        `line ${use.site.line} writes on that decision later, without re-checking.`,
      remediation: `Repeat the check in \`${model.fn.name}\` right before line ${use.site.line}, inside \`transaction.atomic()\` on a row fetched with \`select_for_update()\`; or make the write conditional on the checked state (\`filter(pk=…, <field>=<expected>).update(…)\`).`,
      race: checkedElsewhereRace(project, origin.file.path, origin.fn, origin.fn.defs, origin.check),
      window: { from: model.fn.span[0], to: use.pos },
    });
  }
  return hits;
}

/** State checks on `obj` in has_object_permission() of the view's permission classes. */
function objectPermissionChecks(model: FunctionModel, project: Project, className: string): { file: FileFacts; fn: FunctionFacts; check: CheckEvent }[] {
  const out: { file: FileFacts; fn: FunctionFacts; check: CheckEvent }[] = [];
  const endpoint = project.reach.ofViewClass(model.file.path, className)[0];
  for (const ref of endpoint?.permissionClasses ?? []) {
    const found = methodOfClass(project.index, ref, "has_object_permission");
    if (!found) continue;
    for (const e of found.fn.events) {
      if (e.type === "check" && e.kind === "state" && checkedStateMutable(project, found.fn.defs, e)) out.push({ file: found.file, fn: found.fn, check: e });
    }
  }
  return out;
}
