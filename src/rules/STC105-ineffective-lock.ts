import type { FunctionModel } from "../analysis/model.js";
import type { Rule, RuleHit } from "../analysis/rule.js";
import { stateRace } from "../analysis/race.js";
import { atomicContaining, defName, useKindOf } from "../analysis/scopes.js";
import type { FetchEvent } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { atomicByRequest, callInTransaction, inAtomicRegion } from "../project/transactions.js";

export const STC105: Rule = {
  meta: {
    code: "STC105",
    name: "ineffective-lock",
    defaultSeverity: "medium",
    docs: {
      summary:
        "A `select_for_update()` that locks nothing useful: evaluated outside any transaction, evaluated after its atomic block ended, on a project whose only database is SQLite, or taken on other rows than the object checked and written.",
      why:
        "`select_for_update()` locks rows only when the queryset is evaluated, and only until the enclosing transaction ends. Evaluated in autocommit mode it raises `TransactionManagementError` " +
        "(or, through some code paths, locks for a single statement); a queryset built inside `with transaction.atomic():` but iterated after it runs without a transaction; " +
        "SQLite ignores `FOR UPDATE` entirely; and a lock on the account row does not protect a check on the invoice row. The code looks safe and is not.",
      example: [
        "from django.db import transaction",
        "from django.http import JsonResponse",
        "from .models import Account, Invoice",
        "",
        "def pay(request, pk):",
        "    with transaction.atomic():",
        "        account = Account.objects.select_for_update().get(owner=request.user)",
        "        invoice = Invoice.objects.get(pk=pk)",
        "        if invoice.status != \"open\":",
        "            return JsonResponse({\"error\": \"not open\"}, status=409)",
        "        invoice.status = \"paid\"",
        "        invoice.save()  # expect: STC105",
        "        account.balance -= invoice.amount",
        "        account.save()",
        "    return JsonResponse({\"ok\": True})",
      ].join("\n"),
      useInstead: [
        "from django.db import transaction",
        "from django.http import JsonResponse",
        "from .models import Account, Invoice",
        "",
        "def pay(request, pk):",
        "    with transaction.atomic():",
        "        account = Account.objects.select_for_update().get(owner=request.user)",
        "        invoice = Invoice.objects.select_for_update().get(pk=pk)",
        "        if invoice.status != \"open\":",
        "            return JsonResponse({\"error\": \"not open\"}, status=409)",
        "        invoice.status = \"paid\"",
        "        invoice.save()",
        "        account.balance -= invoice.amount",
        "        account.save()",
        "    return JsonResponse({\"ok\": True})",
      ].join("\n"),
      knownLimitations: [
        "A lock taken by a helper that is not a view is reported only when a view of the same file calls it outside a transaction; helpers called from elsewhere are not followed yet.",
        "\"SQLite only\" is decided from DATABASES literals in settings modules of the scanned tree; computed settings (dj-database-url) are treated as unknown, not as SQLite.",
        "Lines: lock-placement problems are reported where the locked queryset is evaluated; a lock on the wrong rows is reported at the write it fails to protect.",
      ],
      references: [
        { title: "CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition", url: "https://cwe.mitre.org/data/definitions/367.html" },
        { title: "Django: select_for_update()", url: "https://docs.djangoproject.com/en/stable/ref/models/querysets/#select-for-update" },
        { title: "Django: QuerySets are lazy", url: "https://docs.djangoproject.com/en/stable/topics/db/queries/#querysets-are-lazy" },
        { title: "Django: SQLite notes (no SELECT ... FOR UPDATE)", url: "https://docs.djangoproject.com/en/stable/ref/databases/#sqlite-notes" },
      ],
      fixes: {
        available: [
          {
            title: "A lock on other rows than the checked object: fetch the checked object with `select_for_update()` too, inside the same block.",
            safety: "safe",
            why: "The transaction is already there; the object's row is now locked as well, so concurrent writers of it wait.",
          },
          {
            title: "A lock released before the use: move the statements after the `with transaction.atomic():` block, up to the last use, into it.",
            safety: "safe",
            why: "The check and the writes then run while the lock is held, in the order they ran before.",
          },
          {
            title: "A lock evaluated outside any transaction: open `with transaction.atomic():` around it and the statements that use the locked rows.",
            safety: "safe",
            why: "Evaluated outside a transaction, `select_for_update()` raises TransactionManagementError or locks for one statement; inside one it holds until the block ends. Unsafe when the new block would hold an `except` clause.",
          },
        ],
        none: "the locked queryset is evaluated after its block ended (where to evaluate it depends on how the result is used), and on a SQLite-only project, which ignores `SELECT ... FOR UPDATE` whatever the code does.",
      },
    },
  },
  checkFunction(model, { project }) {
    const hits: RuleHit[] = [];
    for (const fetch of model.events) {
      // A helper's lock is reported in the helper itself.
      if (fetch.type !== "fetch" || !fetch.query.locked || fetch.query.source === "?" || fetch.via) continue;
      const hit = misplacedLock(model, project, fetch);
      if (hit) hits.push(hit);
    }
    for (const pair of model.stateWrites) {
      const { check, write, verdict } = pair;
      const race = stateRace(project, model, check, pair.subject, [write]);
      const window = { from: check.pos, to: write.pos };
      const name = defName(model, pair.subject);
      if (verdict.kind === "wrong-row") {
        hits.push({
          severity: "medium",
          confidence: "high",
          check: { site: check.site, kind: "state" },
          use: { site: write.site, kind: useKindOf(write) },
          lock: verdict.lock.site,
          transaction: verdict.region.site,
          message:
            `The lock on line ${verdict.lock.site.line} (\`${verdict.lock.site.text}\`) does not cover \`${name}\`: line ${check.site.line} checks \`${name}\`, which was fetched without a lock, ` +
            `and line ${write.site.line} writes it. Two requests holding different locks can both pass the check.`,
          race,
          window,
          remediation: `Fetch \`${name}\` with \`select_for_update()\` too (lock rows in a consistent order, e.g. the ${model.defs[pair.subject]?.query?.model ?? "object"} first, to avoid deadlocks), or make the write a compare-and-set \`filter(pk=${name}.pk, ${check.field ?? "<field>"}=<expected>).update(...)\`.`,
        });
      } else if (verdict.kind === "released") {
        hits.push({
          severity: "medium",
          confidence: "high",
          check: { site: check.site, kind: "state" },
          use: { site: write.site, kind: useKindOf(write) },
          transaction: verdict.region.site,
          message: `\`${name}\` is locked inside the atomic block on line ${verdict.region.site.line}, but line ${write.site.line} writes it after the block ended and the lock was released.`,
          remediation: `Move the write on line ${write.site.line} inside the atomic block that holds the lock.`,
          race,
          window,
        });
      }
    }
    return hits;
  },
};

function misplacedLock(model: FunctionModel, project: Project, fetch: FetchEvent): RuleHit | null {
  const use = { site: fetch.site, kind: "lock" as const };
  const built = model.atomic.find((r) => fetch.builtPos >= r.span[0] && fetch.builtPos < r.span[1]);
  const evaluatedIn = atomicContaining(model, fetch.pos);
  // A helper whose every caller holds a transaction takes its lock inside that transaction.
  const calledInTransaction = model.callers.length > 0 && model.callers.every((c) => callInTransaction(project.settings, c));
  if (built && !evaluatedIn) {
    return {
      severity: "medium", confidence: "high", check: null, use, transaction: built.site,
      message: `The locked queryset built inside the atomic block on line ${built.site.line} is evaluated on line ${fetch.site.line}, after the block ended: querysets are lazy, so the SELECT ... FOR UPDATE runs outside the transaction.`,
      remediation: `Evaluate the queryset inside the block (\`list(...)\`, \`.get()\`, or iterate it there), or move line ${fetch.site.line} into the atomic block.`,
    };
  }
  if (!evaluatedIn && !calledInTransaction) {
    const viaCaller = !model.fn.viewLike ? model.callers.find((c) => c.caller.viewLike && !inAtomicRegion(c)) : undefined;
    if (model.fn.viewLike || (viaCaller && !atomicByRequest(project.settings, viaCaller.caller))) {
      return {
        severity: "medium", confidence: viaCaller ? "medium" : "high", check: null, use,
        message:
          `\`select_for_update()\` is evaluated on line ${fetch.site.line} outside any transaction` +
          (viaCaller ? ` (\`${model.fn.name}\` is called from the view \`${viaCaller.caller.name}\` on line ${viaCaller.event.site.line} outside transaction.atomic())` : "") +
          `: Django raises TransactionManagementError in autocommit mode, and no lock outlives the statement.`,
        remediation: `Wrap the lock, the checks that depend on it and the writes in \`with transaction.atomic():\` (or decorate ${viaCaller ? `\`${viaCaller.caller.name}\`` : "the view"} with \`@transaction.atomic\`).`,
      };
    }
  }
  if (project.settings.sqliteOnly) {
    return {
      severity: "medium", confidence: "high", check: null, use,
      message: `The project's only database engine is SQLite (${project.settings.files.join(", ")}), which ignores SELECT ... FOR UPDATE: the lock on line ${fetch.site.line} serialises nothing.`,
      remediation: "Run on PostgreSQL, MySQL or Oracle, or replace the lock with a compare-and-set `filter(...).update(...)` or a database constraint that SQLite enforces.",
    };
  }
  return null;
}
