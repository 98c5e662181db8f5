/**
 * Inline suppressions and STC001 (unused-suppression). Line-by-line behaviour is covered by the
 * annotated fixtures in test/fixtures/rules/STC001/; this file covers parsing and how
 * suppressions interact with rule selection and the file kinds that are not analysed.
 */
import { describe, expect, it } from "vitest";
import { buildProject } from "../src/project/buildProject.js";
import { extractFileFacts } from "../src/extract/extractFileFacts.js";
import { analyse } from "../src/analysis/engine.js";
import { parseDirective } from "../src/analysis/suppressions.js";
import { RULES, findRule, selectRules } from "../src/rules/registry.js";

const VULNERABLE = (comment = "") => `from django.http import JsonResponse
from .models import Redemption, Voucher


def redeem(request, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return JsonResponse({"error": "already used"}, status=409)
    voucher.used = True
    voucher.save()${comment}
    Redemption.objects.create(voucher=voucher, user=request.user)
    return JsonResponse({"ok": True})
`;

async function findings(sources: Record<string, string>, options: { select?: string[]; ignore?: string[]; includeNonRequest?: boolean } = {}) {
  const facts = [];
  for (const [path, source] of Object.entries(sources)) facts.push(await extractFileFacts(path, source));
  const { rules } = selectRules(options.select, options.ignore);
  return analyse(buildProject(facts), { rules, findRule, includeNonRequest: options.includeNonRequest ?? false }).map((f) => `${f.file}:${f.line} ${f.rule}`);
}

describe("parseDirective", () => {
  const parse = (text: string) => parseDirective({ line: 7, text }, findRule);
  const codes = (text: string) => parse(text).suppressions.map((s) => `${s.kind}:${s.code ?? `?${s.written}`}`);

  it("reads noqa codes and rule names, and leaves other tools' codes alone", () => {
    expect(codes("# noqa: STC101")).toEqual(["noqa:STC101"]);
    expect(codes("# NOQA:STC101,STC102")).toEqual(["noqa:STC101", "noqa:STC102"]);
    expect(codes("# noqa: E501, missing-row-lock S608")).toEqual(["noqa:STC102"]);
    expect(codes("# noqa: stc105")).toEqual(["noqa:STC105"]);
  });

  it("ignores a bare noqa", () => {
    expect(parse("# noqa").suppressions).toEqual([]);
    expect(parse("# noqa").problems).toEqual([]);
    expect(parse("# type: ignore  # noqa").suppressions).toEqual([]);
  });

  it("stops at the next comment or at prose", () => {
    expect(codes("# noqa: STC101  # expect: STC102")).toEqual(["noqa:STC101"]);
    expect(codes("# noqa: STC101 -- the lock is taken by the caller, STC102")).toEqual(["noqa:STC101"]);
  });

  it("keeps unknown stalecheck codes so that they can be reported", () => {
    expect(codes("# noqa: STC999")).toEqual(["noqa:?STC999"]);
    expect(codes("# stalecheck: ignore[not-a-rule]")).toEqual(["ignore:?not-a-rule"]);
  });

  it("reads stalecheck: ignore and ignore-file with or without a reason", () => {
    expect(codes("# stalecheck: ignore[STC101] -- checked again by the gateway")).toEqual(["ignore:STC101"]);
    expect(codes("# stalecheck: ignore[STC101, check-then-create]")).toEqual(["ignore:STC101", "ignore:STC108"]);
    expect(codes("#stalecheck:ignore-file[STC105]")).toEqual(["ignore-file:STC105"]);
    expect(codes("# noqa: E501  # stalecheck: ignore[STC102]")).toEqual(["ignore:STC102"]);
  });

  it("reports directives it cannot read, and leaves prose alone", () => {
    expect(parse("# stalecheck: ignore STC101").problems).toEqual(["`# stalecheck: ignore` needs the rules it ignores in brackets"]);
    expect(parse("# stalecheck: ignore").problems).toHaveLength(1);
    expect(parse("# stalecheck: ignore[]").problems).toEqual(["`# stalecheck: ignore[]` names no rule"]);
    expect(parse("# stalecheck: ignroe[STC101]").problems).toHaveLength(1);
    expect(parse("# stalecheck: expect STC101").problems).toEqual([]);
    expect(parse("# run stalecheck: ignore the warnings about this in review").problems).toEqual([]);
  });
});

describe("suppressions across rules and files", () => {
  it("suppresses on the use line, the check line and the line above, for the named rule only", async () => {
    expect(await findings({ "app/views.py": VULNERABLE() })).toEqual(["app/views.py:10 STC102"]);
    expect(await findings({ "app/views.py": VULNERABLE("  # noqa: STC102") })).toEqual([]);
    expect(await findings({ "app/views.py": VULNERABLE("  # noqa: missing-row-lock") })).toEqual([]);
    expect(await findings({ "app/views.py": VULNERABLE("  # stalecheck: ignore[STC102] -- reason") })).toEqual([]);
    expect(await findings({ "app/views.py": VULNERABLE().replace("    if voucher.used:", "    if voucher.used:  # noqa: STC102") })).toEqual([]);
    expect(await findings({ "app/views.py": VULNERABLE().replace("    voucher.save()", "    # stalecheck: ignore[STC102]\n    voucher.save()") })).toEqual([]);
    expect(await findings({ "app/views.py": `# stalecheck: ignore-file[STC102]\n${VULNERABLE()}` })).toEqual([]);
  });

  it("does not let a bare noqa hide a race", async () => {
    expect(await findings({ "app/views.py": VULNERABLE("  # noqa") })).toEqual(["app/views.py:10 STC102"]);
  });

  it("reports a suppression that suppresses nothing, unless STC001 is not selected", async () => {
    const source = VULNERABLE("  # noqa: STC102, STC108");
    expect(await findings({ "app/views.py": source })).toEqual(["app/views.py:10 STC001"]);
    expect(await findings({ "app/views.py": source }, { ignore: ["STC001"] })).toEqual([]);
    expect(await findings({ "app/views.py": source }, { ignore: ["unused-suppression"] })).toEqual([]);
  });

  it("judges only suppressions of rules that ran", async () => {
    const source = VULNERABLE("  # noqa: STC108");
    expect(await findings({ "app/views.py": source }, { select: ["STC001", "STC101"] })).toEqual([]);
    expect(await findings({ "app/views.py": source }, { select: ["STC001", "STC108"] })).toEqual(["app/views.py:10 STC001"]);
  });

  it("does not judge files that are not analysed", async () => {
    const test = { "app/tests/test_views.py": "x = 1  # noqa: STC101\n" };
    expect(await findings(test)).toEqual([]);
    expect(await findings(test, { includeNonRequest: true })).toEqual(["app/tests/test_views.py:1 STC001"]);
  });

  it("gives STC001 findings the JSON contract's shape", async () => {
    const facts = [await extractFileFacts("app/views.py", VULNERABLE("  # noqa: STC108"))];
    const [unused] = analyse(buildProject(facts), { rules: RULES, findRule, includeNonRequest: false }).filter((f) => f.rule === "STC001");
    expect(unused).toMatchObject({
      rule: "STC001", name: "unused-suppression", severity: "low", confidence: "high", function: "redeem",
      line: 10, column: 1, endLine: 10, check: null, use: { line: 10, text: "# noqa: STC108", kind: "suppression" },
    });
    expect(unused!.message).toContain("STC108");
    expect(unused!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });
});
