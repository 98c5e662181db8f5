/**
 * `--format sarif`: validated with Microsoft's SARIF Multitool (`validate`, the official
 * validator, from npm) and against the SARIF 2.1.0 JSON schema that package ships, then
 * checked for what code scanning relies on.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FINGERPRINT_KEY, formatSarif } from "../src/report/sarif.js";
import { RULES } from "../src/rules/registry.js";
import { scan } from "../src/run/scan.js";
import type { ScanResult } from "../src/core/result.js";
import { CHILD_HANG_GUARD_MS } from "./helpers/hangGuard.js";
import { MODELS, redeemView, removeTempProjects, tempProject } from "./helpers/tempProject.js";

const require = createRequire(import.meta.url);
/** The platform's Sarif.Multitool executable (the npm package resolves it). */
const multitool: string = require("@microsoft/sarif-multitool");
const sarifSchema = JSON.parse(readFileSync(join(dirname(multitool), "sarif-2.1.0.json"), "utf8"));
const repo = join(import.meta.dirname, "..");

// The schema itself trips Ajv's strict mode (it is written for other validators); formats are checked.
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
const validateSarif = ajv.compile(sarifSchema);

interface SarifLog {
  runs: {
    tool: { driver: { name: string; version: string; informationUri: string; rules: Record<string, any>[] } };
    results: Record<string, any>[];
    invocations: { executionSuccessful: boolean; toolExecutionNotifications: Record<string, any>[] }[];
  }[];
}

const VIEWS = `from django.http import JsonResponse
from .models import Redemption, Voucher


def redeem(request, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return JsonResponse({"error": "already used"}, status=409)
    voucher.used = True
    voucher.save()  # noqa: STC108
    Redemption.objects.create(voucher=voucher, user=request.user)
    return JsonResponse({"ok": True})


def lock_outside(request, pk):
    voucher = Voucher.objects.select_for_update().get(pk=pk)
    voucher.used = True
    voucher.save()
    return JsonResponse({"ok": True})
`;

let billing: ScanResult;
let small: ScanResult;
let smallDir: string;

beforeAll(async () => {
  billing = await scan({ paths: [join(repo, "examples", "billing")], cacheDir: null });
  smallDir = tempProject({ "app/models.py": MODELS, "app/views.py": VIEWS, "app/blob.py": "\u0000\u0001binary" });
  small = await scan({ cwd: smallDir, cacheDir: null });
});
afterAll(removeTempProjects);

const parse = (text: string) => JSON.parse(text) as SarifLog;

describe("SARIF output", () => {
  it("passes the SARIF Multitool validator with no errors and no warnings", async () => {
    const dir = tempProject({});
    const files = {
      "billing.sarif": formatSarif(billing, { baseDir: repo }),
      "small.sarif": formatSarif(small),
      "empty.sarif": formatSarif({ ...small, findings: [], errors: [] }),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const output = join(dir, "validation.sarif");
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const child = execFile(multitool, ["validate", ...Object.keys(files).map((f) => join(dir, f)), "--output", output, "--log", "ForceOverwrite"],
        { timeout: CHILD_HANG_GUARD_MS, encoding: "utf8" }, (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }));
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("3 files scanned");
    const results = parse(readFileSync(output, "utf8")).runs[0]!.results;
    // The validator reports its rules' results at level error, warning or note (note: advice only).
    const problems = results
      .filter((r) => (r.level ?? "warning") === "error" || (r.level ?? "warning") === "warning")
      .map((r) => `${r.ruleId} ${JSON.stringify(r.message.arguments)}`);
    expect(problems).toEqual([]);
  });

  it("matches the SARIF 2.1.0 JSON schema", () => {
    for (const result of [billing, small]) {
      const log = parse(formatSarif(result));
      expect(validateSarif(log), JSON.stringify(validateSarif.errors, null, 2)).toBe(true);
    }
  });

  it("describes the tool and every rule with help, a doc link, tags and a security severity", () => {
    const { driver } = parse(formatSarif(small)).runs[0]!.tool;
    expect(driver).toMatchObject({ name: "stalecheck", version: small.tool.version });
    expect(driver.informationUri).toMatch(/^https:\/\//);
    expect(driver.rules.map((r) => r.id)).toEqual(RULES.map((r) => r.meta.code));
    for (const rule of driver.rules) {
      const meta = RULES.find((r) => r.meta.code === rule.id)!.meta;
      expect(rule.name).toBe(meta.name);
      expect(rule.shortDescription.text.length).toBeGreaterThan(10);
      expect(rule.fullDescription.text.length).toBeGreaterThanOrEqual(rule.shortDescription.text.length);
      expect(rule.help.markdown).toContain(`# ${meta.code} ${meta.name}`);
      expect(rule.help.text).toContain(rule.helpUri);
      expect(rule.helpUri).toMatch(new RegExp(`/docs/rules/${meta.code}-${meta.name}\\.md$`));
      if (meta.code === "STC001") {
        expect(rule.properties.tags).toEqual(["maintainability"]);
        expect(rule.properties["security-severity"]).toBeUndefined();
      } else {
        expect(rule.properties.tags).toEqual(expect.arrayContaining(["security", "CWE-367", "CWE-362", "external/cwe/cwe-367"]));
        expect(Number(rule.properties["security-severity"])).toBeGreaterThan(0);
      }
    }
  });

  it("puts the use first, the check and the other guarded uses in relatedLocations, and a check → window → uses thread flow", () => {
    const log = parse(formatSarif(small));
    const stc102 = log.runs[0]!.results.find((r) => r.ruleId === "STC102")!;
    const finding = small.findings.find((f) => f.rule === "STC102")!;
    expect(stc102.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: "app/views.py", uriBaseId: "%SRCROOT%" },
      region: { startLine: 10, startColumn: 5 },
    });
    expect(stc102.relatedLocations).toEqual([
      { id: 1, physicalLocation: { artifactLocation: { uri: "app/views.py", uriBaseId: "%SRCROOT%" }, region: { startLine: 7 } }, message: { text: "Check (state): `if voucher.used:`." } },
      { id: 2, physicalLocation: { artifactLocation: { uri: "app/views.py", uriBaseId: "%SRCROOT%" }, region: { startLine: 11 } }, message: { text: "Also guarded (create): `Redemption.objects.create(voucher=voucher, user=request.user)`." } },
    ]);
    expect(stc102.message.text).toContain("[line 7](1)");
    expect(stc102.message.text).toContain(`Fix: ${finding.remediation}`);
    const steps = stc102.codeFlows[0].threadFlows[0].locations.map((l: any) => [l.location.physicalLocation.region, l.location.message.text]);
    expect(steps).toEqual([
      [{ startLine: 7 }, "Check (state): `if voucher.used:`."],
      [{ startLine: 8, endLine: 9 }, expect.stringMatching(/^Window: 2 lines run between check and use/)],
      [{ startLine: 10 }, "Use (write): `voucher.save()  # noqa: STC108`."],
      [{ startLine: 11 }, "Also guarded (create): `Redemption.objects.create(voucher=voucher, user=request.user)`."],
    ]);
    expect(stc102.level).toBe({ critical: "error", high: "error", medium: "warning", low: "note" }[finding.severity]);
    expect(stc102.partialFingerprints).toEqual({ [FINGERPRINT_KEY]: finding.fingerprint });
  });

  it("gives findings without a check no thread flow, and lists unreadable files as notifications", () => {
    const log = parse(formatSarif(small));
    const lock = log.runs[0]!.results.find((r) => r.ruleId === "STC105");
    expect(lock).toBeDefined();
    expect(lock!.codeFlows).toBeUndefined();
    const unused = log.runs[0]!.results.find((r) => r.ruleId === "STC001")!;
    expect(unused.level).toBe("note");
    expect(unused.properties["security-severity"]).toBeUndefined();
    const notifications = log.runs[0]!.invocations[0]!.toolExecutionNotifications;
    expect(notifications.map((n) => n.locations[0].physicalLocation.artifactLocation.uri)).toEqual(["app/blob.py"]);
  });

  it("gives each result the security-severity GitHub ranks it by, from its rule descriptor", () => {
    // GitHub reads `security-severity` from the rule only, on this documented scale
    // ("SARIF support for code scanning"): over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
    const githubSeverity = (score: number) => (score >= 9.0 ? "critical" : score >= 7.0 ? "high" : score >= 4.0 ? "medium" : score >= 0.1 ? "low" : "none");
    const run = parse(formatSarif(billing)).runs[0]!;
    const severities = new Set(billing.findings.map((f) => f.severity));
    expect(severities.has("critical") && severities.has("medium"), "the example should show several severities").toBe(true);
    run.results.forEach((r, i) => {
      const descriptor = run.tool.driver.rules[r.ruleIndex]!;
      expect(descriptor.id).toBe(r.ruleId);
      expect(r.ruleId.split("/")[0]).toBe(billing.findings[i]!.rule);
      expect(githubSeverity(Number(descriptor.properties["security-severity"])), `${r.ruleId} ${billing.findings[i]!.severity}`).toBe(billing.findings[i]!.severity);
    });
    const ids = run.tool.driver.rules.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps results in report order (file, line, rule)", () => {
    const results = parse(formatSarif(billing, { baseDir: billing.root })).runs[0]!.results;
    expect(results.length).toBe(billing.findings.length);
    expect(results.map((r) => `${r.locations[0].physicalLocation.artifactLocation.uri}:${r.locations[0].physicalLocation.region.startLine}:${r.ruleId.split("/")[0]}`))
      .toEqual(billing.findings.map((f) => `${f.file}:${f.line}:${f.rule}`));
    const level = { critical: "error", high: "error", medium: "warning", low: "note" } as const;
    expect(results.map((r) => r.level)).toEqual(billing.findings.map((f) => level[f.severity]));
    expect(results.some((r) => r.level === "error")).toBe(true);
  });

  it("makes URIs relative to the base directory (the repository root in CI), absolute outside it", () => {
    const fromRepo = parse(formatSarif(billing, { baseDir: repo })).runs[0]!.results[0]!;
    expect(fromRepo.locations[0].physicalLocation.artifactLocation.uri).toMatch(/^examples\/billing\/invoices\//);
    const outside = parse(formatSarif(small, { baseDir: repo })).runs[0]!.results[0]!;
    expect(outside.locations[0].physicalLocation.artifactLocation.uri).toMatch(/^file:\/\/\//);
    expect(outside.locations[0].physicalLocation.artifactLocation.uriBaseId).toBeUndefined();
  });

  it("keeps partialFingerprints when lines shift above the finding", async () => {
    const before = tempProject({ "app/models.py": MODELS, "app/views.py": redeemView() });
    const after = tempProject({ "app/models.py": MODELS, "app/views.py": redeemView("redeem", "# A new header comment.\n\n\n") });
    const fingerprints = async (dir: string) => {
      const result = parse(formatSarif(await scan({ paths: [dir], cacheDir: null }))).runs[0]!.results;
      return result.map((r) => [r.locations[0].physicalLocation.region.startLine, r.partialFingerprints[FINGERPRINT_KEY]]);
    };
    const [a, b] = [await fingerprints(before), await fingerprints(after)];
    expect(a).toHaveLength(1);
    expect(b[0]![0]).toBe((a[0]![0] as number) + 3);
    expect(b[0]![1]).toBe(a[0]![1]);
  });
});
