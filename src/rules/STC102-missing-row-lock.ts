import { type StaleSave, readModifyWrites, staleSaves } from "../analysis/lostUpdates.js";
import type { FunctionModel } from "../analysis/model.js";
import { describeWriter, stateRace } from "../analysis/race.js";
import type { Rule, RuleHit } from "../analysis/rule.js";
import type { AssignEvent, WriteEvent } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { defName, useKindOf } from "../analysis/scopes.js";
import { describeTransaction, describeWindow, isAdjacent } from "../analysis/window.js";

export const STC102: Rule = {
  meta: {
    code: "STC102",
    name: "missing-row-lock",
    defaultSeverity: "high",
    docs: {
      summary:
        "A fetched object's state or ownership is checked, then the object (or a row derived from it) is written, and the fetch took no `select_for_update()` row lock. " +
        "Also lost updates without a check: a field read, changed and saved back (`obj.n += 1; obj.save()`), and a row saved whole after slow work.",
      why:
        "Two requests can both read the row before either writes it: both see `status == \"open\"`, both pay the invoice; both see a balance that covers the amount, both withdraw it; " +
        "both see an unused voucher, both credit it. Under READ COMMITTED, wrapping the code in `transaction.atomic()` does not help: the plain `SELECT` takes no lock, so the second request does not wait for the first. " +
        "The same holds for `obj.n += 1; obj.save()`: both requests read 5 and both write 6. " +
        "Reported when someone can change the checked state in the window (DESIGN.md §1): another run of this code (`self`), another path a user can call (`cross-path`); " +
        "a state only privileged code changes only with a wide window or `--strict`. Code that only sets a yes/no flag to the value it tested (`if not n.is_read: n.is_read = True; n.save()`) ends the same in any order and is not reported.",
      example: [
        "from django.db.models import F",
        "from django.http import JsonResponse",
        "from .models import Account, Voucher",
        "",
        "def redeem(request, code):",
        "    voucher = Voucher.objects.get(code=code)",
        "    if voucher.used:",
        "        return JsonResponse({\"error\": \"already used\"}, status=409)",
        "    voucher.used = True",
        "    voucher.save()  # expect: STC102",
        "    Account.objects.filter(owner=request.user).update(balance=F(\"balance\") + voucher.amount)",
        "    return JsonResponse({\"ok\": True})",
      ].join("\n"),
      useInstead: [
        "from django.db.models import F",
        "from django.http import JsonResponse",
        "from .models import Account, Voucher",
        "",
        "def redeem(request, code):",
        "    # Compare-and-set: the database tests and flips the flag in one statement.",
        "    claimed = Voucher.objects.filter(code=code, used=False).update(used=True)",
        "    if claimed == 0:",
        "        return JsonResponse({\"error\": \"already used\"}, status=409)",
        "    amount = Voucher.objects.values_list(\"amount\", flat=True).get(code=code)",
        "    Account.objects.filter(owner=request.user).update(balance=F(\"balance\") + amount)",
        "    return JsonResponse({\"ok\": True})",
      ].join("\n"),
      knownLimitations: [
        "A field counts as immutable (and its checks as safe) when no code in the scanned tree assigns it, updates it or sets it with `setattr`; writes made through serializers, forms or raw SQL are not seen.",
        "Objects are followed inside one function and through helpers of the same file.",
      ],
      references: [
        { title: "CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition", url: "https://cwe.mitre.org/data/definitions/367.html" },
        { title: "Django: select_for_update()", url: "https://docs.djangoproject.com/en/stable/ref/models/querysets/#select-for-update" },
        { title: "Django: Updating attributes based on existing fields (F expressions)", url: "https://docs.djangoproject.com/en/stable/ref/models/expressions/#f-expressions" },
        { title: "Django: update()", url: "https://docs.djangoproject.com/en/stable/ref/models/querysets/#update" },
      ],
      fixes: {
        available: [
          {
            title: "Fetch the checked object with `select_for_update()` and run the fetch, the check and its uses in one `transaction.atomic()` block (inside the block or `@transaction.atomic` that already holds them, when there is one).",
            safety: "safe",
            why: "A request that does not race does what it did before; concurrent requests for the same row now wait for each other, and the second one sees the first one's write when it checks. It is unsafe when the new block would hold an `except` clause (a database error caught inside a transaction leaves it unusable). With `select_related()` the lock is `select_for_update(of=(\"self\",))`; a queryset with `distinct()`, `values()`, `annotate()` or a set operation is not locked.",
          },
          {
            title: "Make the write a compare-and-set: `if not Model.objects.filter(pk=obj.pk, <the checked condition>).update(<the fields saved>): <the check's failure branch>`, with arithmetic on a field (`obj.n += 1`, `obj.balance = obj.balance - amount`) turned into an `F()` expression.",
            safety: "unsafe",
            why: "Offered for a single `save()`, `delete()` or `update()` after an `if` that returns or raises. When the row changed after the check, the request now takes the failure branch after the work between them has run, and `update()` skips the model's `save()` (its signals, `auto_now` fields and overrides).",
          },
        ],
        none: "the object comes from somewhere no edit can lock (DRF's `get_object()`, a helper) and the compare-and-set does not apply, or the view is async.",
      },
    },
  },
  checkFunction(model, { project }) {
    const hits: RuleHit[] = [];
    for (const pair of model.stateWrites) {
      if (pair.verdict.kind !== "unlocked") continue;
      const { check, write } = pair;
      const name = defName(model, pair.subject);
      const def = model.defs[pair.subject];
      const modelName = def?.query?.model ?? "Model";
      const fieldText = check.field ? `\`${name}.${check.field}\`` : `the state of \`${name}\``;
      const region = model.atomic.find((r) => check.pos >= r.span[0] && write.pos < r.span[1]);
      const fUpdate = write.fFields.length > 0 ? " The F() expression makes the arithmetic atomic, but the check itself is still stale." : "";
      const hit: RuleHit = {
        severity: isAdjacent(model, check, write.pos, write.site.line) ? "low" : "high",
        confidence: check.field && def?.query?.model ? "high" : "medium",
        check: { site: check.site, kind: "state", scopes: check.scopes },
        use: { site: write.site, kind: useKindOf(write) },
        message:
          `Line ${check.site.line} checks ${fieldText}, read without a row lock, and line ${write.site.line} writes based on it ` +
          `(${describeWindow(model, check.pos, write.pos)} run in between); a concurrent request can pass the same check before either writes.${fUpdate}` +
          (region ? ` ${describeTransaction(region).replace(/^t/, "T")} does not lock the row by itself.` : ""),
        remediation: check.field
          ? `Fetch \`${name}\` with \`${modelName}.objects.select_for_update().get(...)\` inside \`transaction.atomic()\` and keep the check on line ${check.site.line} and the write on line ${write.site.line} in that block; ` +
            `or make the write conditional, \`${modelName}.objects.filter(pk=${name}.pk, ${check.field}=<expected value>).update(...)\`, and treat a row count of 0 as "the check failed".`
          : `Fetch \`${name}\` with \`${modelName}.objects.select_for_update().get(...)\` inside \`transaction.atomic()\` and keep the check on line ${check.site.line} and the write on line ${write.site.line} in that block.`,
      };
      if (region) hit.transaction = region.site;
      hit.race = stateRace(project, model, check, pair.subject, [write]);
      hit.window = { from: check.pos, to: write.pos };
      hits.push(hit);
    }
    // A checked counter (`if v.uses >= v.max_uses: ...; v.uses += 1; v.save()`) is one race, told from its check.
    const raced = new Set(hits.filter((h) => h.race?.kind === "self" || h.race?.kind === "cross-path").map((h) => h.use.site));
    for (const { assign, save } of readModifyWrites(model)) if (!raced.has(save.site)) hits.push(readModifyWriteHit(model, assign, save));
    for (const stale of staleSaves(model)) {
      const hit = staleSaveHit(model, project, stale);
      if (hit) hits.push(hit);
    }
    return hits;
  },
};

/** `obj.n += 1; obj.save()`: each request adds to the value it read, and the last save wins. */
function readModifyWriteHit(model: FunctionModel, assign: AssignEvent, save: WriteEvent): RuleHit {
  const name = defName(model, assign.def);
  const modelName = model.defs[assign.def]?.query?.model ?? "Model";
  return {
    severity: "high",
    confidence: model.defs[assign.def]?.query?.model ? "high" : "medium",
    check: { site: assign.site, kind: "state" },
    use: { site: save.site, kind: "write" },
    message: `Line ${assign.site.line} computes \`${name}.${assign.field}\` from the value read earlier, without a row lock, and line ${save.site.line} saves it: two concurrent requests read the same value and the later save erases the other's change (a lost update).`,
    remediation: `Let the database do the arithmetic: \`${modelName}.objects.filter(pk=${name}.pk).update(${assign.field}=F("${assign.field}") + …)\`; or fetch \`${name}\` with \`select_for_update()\` inside \`transaction.atomic()\` and keep the change and the save in that block.`,
    race: { kind: "self", writers: [], by: "another run of this code reads the same value before this save" },
    window: { from: assign.pos, to: save.pos },
  };
}

/** A row read, slow work, then a save of every field: what another request changed meanwhile is written back. */
function staleSaveHit(model: FunctionModel, project: Project, stale: StaleSave): RuleHit | null {
  const modelName = model.defs[stale.subject]?.query?.model;
  if (!modelName) return null;
  const others = project.writes.modelWriters(modelName).filter((w) => w.fn !== model.fn && !w.privileged);
  if (others.length === 0) return null;
  const name = defName(model, stale.subject);
  return {
    severity: "medium",
    confidence: "medium",
    check: { site: model.events.find((e) => e.type === "fetch" && e.def === stale.subject)?.site ?? model.fn.site, kind: "state" },
    use: { site: stale.save.site, kind: "write" },
    message: `\`${name}\` is read on line ${stale.readLine} and saved whole${stale.save.via ? ` by \`${stale.save.via}()\`` : ""} on line ${stale.save.site.line} after ${describeWindow(model, stale.readPos, stale.save.pos)}: every field is written back as it was read, so a change another request made meanwhile is undone.`,
    remediation: `Save only the fields this code changes (\`${name}.save(update_fields=[...])\`), or re-read \`${name}\` with \`select_for_update()\` inside \`transaction.atomic()\` after the slow work and apply the change there.`,
    race: { kind: "cross-path", writers: others, by: `${describeWriter(others[0]!)} writes ${modelName} rows` },
    window: { from: stale.readPos, to: stale.save.pos },
  };
}
