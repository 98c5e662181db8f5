/**
 * Baselines (--write-baseline / --baseline): accepted findings stay silent through line shifts
 * and unrelated edits in their function, and never hide a new finding, not even a twin.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyBaseline, buildBaseline } from "../src/report/baseline.js";
import type { Finding } from "../src/core/finding.js";
import { MODELS, redeemView, removeTempProjects, tempProject, writeFiles } from "./helpers/tempProject.js";
import { runCli } from "./helpers/runCli.js";

afterAll(removeTempProjects);

const run = runCli;

async function reported(argv: string[], cwd: string): Promise<string[]> {
  const { code, stdout, stderr } = await run([...argv, "--format", "json"], cwd);
  expect(code, stderr).not.toBe(2);
  return (JSON.parse(stdout) as { findings: Finding[] }).findings.map((f) => `${f.file}:${f.line} ${f.rule} ${f.function}`);
}

const TWO_VIEWS = `${redeemView()}

def cancel(request, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return JsonResponse({"error": "already used"}, status=409)
    voucher.delete()
    return JsonResponse({"ok": True})
`;

describe("baselines", () => {
  it("silences the recorded findings through line shifts and unrelated edits, and reports only a new function", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "app/views.py": TWO_VIEWS });
    expect(await reported(["."], dir)).toEqual(["app/views.py:10 STC102 redeem", "app/views.py:19 STC102 cancel"]);

    const written = await run([".", "--write-baseline", "baseline.json"], dir);
    expect(written.code).toBe(0);
    expect(written.stdout).toBe("");
    expect(written.stderr).toBe("stalecheck: wrote 2 findings to the baseline baseline.json\n");
    expect((await run([".", "--baseline", "baseline.json"], dir)).code).toBe(0);
    expect(await reported([".", "--baseline", "baseline.json"], dir)).toEqual([]);

    // Shift every line: a new import block at the top.
    const shifted = `import logging\nimport time\n\nlogger = logging.getLogger(__name__)\n\n${TWO_VIEWS}`;
    writeFiles(dir, { "app/views.py": shifted });
    expect(await reported(["."], dir)).toEqual(["app/views.py:15 STC102 redeem", "app/views.py:24 STC102 cancel"]);
    expect(await reported([".", "--baseline", "baseline.json"], dir)).toEqual([]);

    // An unrelated edit inside the function (a new statement in the window) changes nothing.
    const edited = shifted.replace("    voucher.used = True\n", "    logger.info(\"redeeming %s\", code)\n    voucher.used = True\n");
    writeFiles(dir, { "app/views.py": edited });
    expect(await reported([".", "--baseline", "baseline.json"], dir)).toEqual([]);

    // A new vulnerable function is reported, and only it.
    writeFiles(dir, { "app/views.py": `${edited}\n${redeemView("redeem_again").split("\n").slice(3).join("\n")}` });
    expect(await reported([".", "--baseline", "baseline.json"], dir)).toEqual(["app/views.py:34 STC102 redeem_again"]);
    const text = await run([".", "--baseline", "baseline.json"], dir);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("(2 more covered by the baseline)");
  });

  it("never lets one entry hide a new identical twin", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "app/views.py": redeemView() });
    expect((await run([".", "--write-baseline", "baseline.json"], dir)).code).toBe(0);
    // The same fetch, check and write again, after the first: same rule, function, check and use text.
    const block = redeemView().split("\n").slice(5, 11).join("\n");
    writeFiles(dir, { "app/views.py": redeemView().replace("    return JsonResponse({\"ok\": True})\n", `${block}\n    return JsonResponse({"ok": True})\n`) });
    expect(await reported(["."], dir)).toEqual(["app/views.py:10 STC102 redeem", "app/views.py:16 STC102 redeem"]);
    expect(await reported([".", "--baseline", "baseline.json"], dir)).toEqual(["app/views.py:16 STC102 redeem"]);
    // Recorded together, the twins are one entry with a count of 2.
    expect((await run([".", "--write-baseline", "twins.json"], dir)).code).toBe(0);
    const twins = JSON.parse(readFileSync(join(dir, "twins.json"), "utf8"));
    expect(Object.values(twins.findings)).toEqual([{ rule: "STC102", file: "app/views.py", function: "redeem", use: "voucher.save()", count: 2 }]);
    expect(await reported([".", "--baseline", "twins.json"], dir)).toEqual([]);
  });

  it("keeps a finding silent when only a comment or whitespace on its check or use line changes", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "app/views.py": TWO_VIEWS });
    expect((await run([".", "--write-baseline", "baseline.json"], dir)).code).toBe(0);
    for (const [check, use] of [
      ["    if voucher.used:  # TODO: lock", "    voucher.save()  # noqa: E501"],
      ["    if voucher.used:   # type: ignore", "    voucher.save( )  # fmt: skip"],
      ["    if  voucher.used :", "    voucher.save()# stalecheck is wrong here, says a reviewer"],
    ] as const) {
      writeFiles(dir, { "app/views.py": TWO_VIEWS.replace("    if voucher.used:\n        return JsonResponse({\"error\": \"already used\"}, status=409)\n    voucher.used = True\n    voucher.save()", `${check}\n        return JsonResponse({"error": "already used"}, status=409)\n    voucher.used = True\n${use}`) });
      expect(await reported(["."], dir)).toEqual(["app/views.py:10 STC102 redeem", "app/views.py:19 STC102 cancel"]);
      expect(await reported([".", "--baseline", "baseline.json"], dir), `${check} / ${use}`).toEqual([]);
    }
    // A change to the code itself is a new finding.
    writeFiles(dir, { "app/views.py": TWO_VIEWS.replace("    voucher.save()\n    Redemption", "    voucher.save(update_fields=[\"used\"])\n    Redemption") });
    expect(await reported([".", "--baseline", "baseline.json"], dir)).toEqual(["app/views.py:10 STC102 redeem"]);
  });

  it("matches a baseline written at the project root when a subdirectory is scanned, from anywhere", async () => {
    for (const marker of [{ ".git/HEAD": "ref: refs/heads/main\n" }, { "pyproject.toml": "[tool.stalecheck]\nfail-on = \"low\"\n" }]) {
      const dir = tempProject({ ...marker, "services/shop/app/models.py": MODELS, "services/shop/app/views.py": TWO_VIEWS });
      expect((await run([".", "--write-baseline", "baseline.json"], dir)).code).toBe(0);
      const baseline = JSON.parse(readFileSync(join(dir, "baseline.json"), "utf8"));
      expect(Object.values(baseline.findings).map((e: any) => e.file)).toEqual(["services/shop/app/views.py", "services/shop/app/views.py"]);
      const file = join(dir, "baseline.json");
      expect(await reported(["services/shop", "--baseline", file], dir)).toEqual([]);
      expect(await reported(["app", "--baseline", file], join(dir, "services", "shop"))).toEqual([]);
      expect(await reported([".", "--baseline", file], join(dir, "services", "shop", "app"))).toEqual([]);
      expect(await reported(["services/shop/app/views.py", "services/shop/app/models.py", "--baseline", file], dir)).toEqual([]);
    }
  });

  it("still reads a version 1 baseline, matched on version 1 fingerprints", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "app/views.py": TWO_VIEWS });
    // What version 1 wrote: the file from the scan root, the lines' text with whitespace runs as one space.
    const v1 = (fn: string, use: string) => createHash("sha256").update(["STC102", "app/views.py", fn, "if voucher.used:", use].join("\u0000") + "\u00000").digest("hex").slice(0, 16);
    const entries = { [v1("redeem", "voucher.save()")]: { rule: "STC102", file: "app/views.py", function: "redeem", use: "voucher.save()", count: 1 } };
    writeFileSync(join(dir, "v1.json"), JSON.stringify({ version: 1, tool: "stalecheck", findings: entries }));
    expect(await reported([".", "--baseline", "v1.json"], dir)).toEqual(["app/views.py:19 STC102 cancel"]);
  });

  it("writes a stable, sorted file keyed on fingerprints", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "app/views.py": TWO_VIEWS });
    await run([".", "--write-baseline", "a.json"], dir);
    await run([".", "--write-baseline", "b.json"], dir);
    const a = readFileSync(join(dir, "a.json"), "utf8");
    expect(readFileSync(join(dir, "b.json"), "utf8")).toBe(a);
    const baseline = JSON.parse(a);
    expect(baseline.version).toBe(2);
    expect(baseline.tool).toBe("stalecheck");
    const keys = Object.keys(baseline.findings);
    expect(keys).toEqual([...keys].sort());
    const json = JSON.parse((await run([".", "--format", "json"], dir)).stdout) as { findings: Finding[] };
    expect(keys.sort()).toEqual(json.findings.map((f) => f.fingerprint).sort());
  });

  it("is read from the configuration's baseline key, relative to the configuration file", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), "pyproject.toml": "[tool.stalecheck]\nbaseline = \"ci/stalecheck-baseline.json\"\n" });
    writeFiles(dir, { "ci/.keep": "" });
    // --write-baseline ignores the configured baseline: it records every finding.
    expect((await run(["app", "--write-baseline", "ci/stalecheck-baseline.json"], dir)).code).toBe(0);
    expect(await reported(["app"], dir)).toEqual([]);
    expect(await reported(["app", "--baseline", join(dir, "ci", "stalecheck-baseline.json")], dir)).toEqual([]);
  });

  it("rejects a missing or foreign baseline file, and --baseline with --write-baseline", async () => {
    const dir = tempProject({ "app/views.py": "", "other.json": "{\"findings\": []}" });
    const missing = await run([".", "--baseline", "nope.json"], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read baseline");
    const foreign = await run([".", "--baseline", "other.json"], dir);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain("is not a stalecheck baseline");
    const both = await run([".", "--baseline", "a.json", "--write-baseline", "b.json"], dir);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--baseline and --write-baseline cannot be used together");
  });

  it("covers the first n of n + m identical findings (applyBaseline)", () => {
    const twin = (line: number, fingerprint: string): Finding => ({
      rule: "STC102", name: "missing-row-lock", severity: "high", confidence: "high", file: "a.py", function: "f", line, column: 1, endLine: line,
      check: { line: 1, text: "if x.used:", kind: "state" }, use: { line, text: "x.save()", kind: "write" }, basicAuth: false, route: null,
      message: "m", remediation: "r", fingerprint,
    });
    const baseline = buildBaseline([twin(5, "aaaaaaaaaaaaaaaa")]);
    const { findings, covered } = applyBaseline([twin(5, "aaaaaaaaaaaaaaaa"), twin(6, "bbbbbbbbbbbbbbbb"), twin(7, "cccccccccccccccc")], baseline);
    expect(covered).toBe(1);
    expect(findings.map((f) => f.line)).toEqual([6, 7]);
  });
});
