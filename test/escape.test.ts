/**
 * Human-readable output escapes control characters that come from the scanned tree (DESIGN.md
 * §5): text reports, endpoint listings and GitHub annotations show ESC, CR, LF, C1 and bidi
 * controls in a visible form, and no line of a source file can break a report line.
 */
import { afterAll, describe, expect, it } from "vitest";
import { formatEndpointsText } from "../src/report/endpoints.js";
import { escapeControl } from "../src/report/escape.js";
import { formatGithub } from "../src/report/github.js";
import { formatText } from "../src/report/text.js";
import type { Finding } from "../src/rules/analyse.js";
import type { ScanResult } from "../src/core/result.js";
import { runCli } from "./helpers/runCli.js";
import { MODELS, redeemView, removeTempProjects, tempProject } from "./helpers/tempProject.js";

afterAll(removeTempProjects);

/** A project with one STC102 finding, app/views.py line 10. */
const project = (extra: Record<string, string> = {}) => tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), ...extra });

describe("control characters in human-readable output", () => {
  const ESC = "\u001b";
  const hostile = `x${ESC}]0;pwned\u0007 \r\n\u202e\u2066\u0085\u009b2J\u0000`;

  it("escapeControl shows C0, C1, DEL, bidi and line-separator characters, and leaves tabs and text", () => {
    expect(escapeControl(hostile)).toBe("x\\x1b]0;pwned\\x07 \\r\\n\\u202e\\u2066\\x85\\x9b2J\\x00");
    expect(escapeControl("if a\tand b:  # café ✓ \\x1b")).toBe("if a\tand b:  # café ✓ \\x1b");
    expect(escapeControl("\u007f\u061c\u200e\u200f\u2028\u2029\u202a\u2069")).toBe("\\x7f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a\\u2069");
  });

  const finding = (): Finding => ({
    rule: "STC102", name: "missing-row-lock", severity: "high", confidence: "high", file: `app/${hostile}.py`, function: `redeem${hostile}`,
    line: 10, column: 5, endLine: 10,
    check: { line: 7, text: `if voucher.used:  # ${hostile}`, kind: "state" }, use: { line: 10, text: `voucher.save()\r::error::forged`, kind: "write" },
    uses: [{ line: 10, text: `voucher.save()\r::error::forged`, kind: "write" }, { line: 11, text: `Redemption.objects.create()  # ${hostile}`, kind: "create" }],
    basicAuth: false, route: null, message: `Line 7 checks ${hostile}`, remediation: `Lock ${hostile}`, fingerprint: "0123456789abcdef", window: `call ${hostile}`,
  });
  const result = (): ScanResult => ({
    version: 1, tool: { name: "stalecheck", version: "0" }, summary: { files: 1, functions: 1, findings: 1, errors: 1, durationMs: 1 },
    findings: [finding()], errors: [{ file: `bad${hostile}.py`, message: `cannot read ${hostile}` }], root: "/repo", settingsFiles: [`settings${hostile}.py`],
    endpoints: [{ route: `/pay${hostile}/`, methods: ["POST"], view: `views.${hostile}`, authentication: [hostile], permissions: [hostile], basicAuth: true, basicAuthReasons: [hostile] }] as ScanResult["endpoints"],
  });
  const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it("text reports, endpoint listings and GitHub annotations carry none raw", () => {
    const text = formatText(result(), { color: false });
    expect(text).not.toMatch(raw);
    expect(text).toContain("x\\x1b]0;pwned\\x07 \\r\\n\\u202e");
    // Nothing in the finding broke a line: as many lines as with harmless text.
    const tame = JSON.parse(JSON.stringify(result()).replaceAll(JSON.stringify(hostile).slice(1, -1), "tame")) as ScanResult;
    expect(text.split("\n")).toHaveLength(formatText(tame, { color: false }).split("\n").length);
    const endpoints = formatEndpointsText(result());
    expect(endpoints).not.toMatch(raw);
    expect(endpoints).toContain("/payx\\x1b]0;pwned");
    const github = formatGithub(result(), { baseDir: "/repo" });
    expect(github).not.toMatch(raw);
    // Each annotation is one line: a CR or LF in the source cannot start a command of its own.
    expect(github.trimEnd().split("\n").map((l) => l.slice(0, 10))).toEqual(["::error fi", "::warning "]);
    expect(github).not.toMatch(/^::error::forged/m);
  });

  it("a scan of a file with such bytes prints them escaped", async () => {
    const dir = project({ [`app/evil${ESC}[2J.py`]: redeemView("evil").replace("voucher.save()", `voucher.save()  # ${ESC}]0;pwned\u0007 \u202e`) });
    const run = await runCli(["."], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toMatch(raw);
    expect(run.stdout).toContain("app/evil\\x1b[2J.py:10:5 STC102");
    expect(run.stdout).toContain("voucher.save()  # \\x1b]0;pwned\\x07 \\u202e");
  });
});
