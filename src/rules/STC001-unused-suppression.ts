import type { Rule } from "../analysis/rule.js";

/**
 * Unused suppressions. Its findings need every other rule's findings for the file, so they
 * are produced by the engine's `applySuppressions()` (analysis/suppressions.ts) after the
 * other rules ran: this rule has metadata and no hook.
 */
export const STC001: Rule = {
  meta: {
    code: "STC001",
    name: "unused-suppression",
    defaultSeverity: "low",
    docs: {
      summary:
        "A suppression comment (`# noqa: STC…`, `# stalecheck: ignore[…]`, `# stalecheck: ignore-file[…]`) that suppresses nothing: no finding of that rule is reported on the line it covers, it names no stalecheck rule, or it cannot be read.",
      why:
        "A suppression outlives the code it was written for. Once the race is fixed, or the line moved, the comment stays and silently hides the next finding of that rule on that line: a new check-then-act written there later is never reported. " +
        "Reporting unused suppressions keeps every remaining one meaningful, as Ruff's RUF100 does for `noqa` comments.",
      example: [
        "from django.http import JsonResponse",
        "from .models import Invoice",
        "",
        "def invoice_detail(request, pk):",
        "    invoice = Invoice.objects.get(pk=pk, owner=request.user)  # noqa: STC101  # expect: STC001",
        "    return JsonResponse({\"id\": invoice.pk, \"amount\": str(invoice.amount)})",
      ].join("\n"),
      useInstead: [
        "from django.http import JsonResponse",
        "from .models import Invoice",
        "",
        "def invoice_detail(request, pk):",
        "    invoice = Invoice.objects.get(pk=pk, owner=request.user)",
        "    return JsonResponse({\"id\": invoice.pk, \"amount\": str(invoice.amount)})",
      ].join("\n"),
      knownLimitations: [
        "A suppression is judged only when its rule ran: with `--select STC101`, a `# noqa: STC102` is neither used nor reported. Files that are not analysed (tests, migrations and management commands, unless `--include-non-request`) are not judged either.",
        "Codes of other tools in the same `# noqa:` comment (`E501`, `S608`) are left alone; a bare `# noqa` is not a stalecheck suppression at all and is never reported.",
        "A `# stalecheck: ignore[…]` comment covers its own line and the next one; one that sits at the end of a statement therefore also counts as used by a finding on the following line.",
      ],
      references: [
        { title: "Ruff: unused-noqa (RUF100)", url: "https://docs.astral.sh/ruff/rules/unused-noqa/" },
        { title: "Ruff: error suppression", url: "https://docs.astral.sh/ruff/linter/#error-suppression" },
      ],
      fixes: {
        available: [
          {
            title: "Remove the codes that suppress nothing from the comment; the whole comment when nothing else is left in it, and the whole line when the comment stood alone on it.",
            safety: "safe",
            why: "The comment suppresses nothing, so removing it changes no report and no behaviour. Codes of other tools (`E501`) and other remarks in the same comment are kept, and so are codes of rules that did not run.",
          },
        ],
        none: "the comment cannot be read as a directive (`# stalecheck: ignore STC101` without brackets): what it meant is for you to decide.",
      },
    },
  },
};
