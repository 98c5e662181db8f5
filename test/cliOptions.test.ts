/**
 * The options users of Ruff, Bandit and Semgrep reach for, and the small rough edges of issue 14:
 * each case runs the CLI in-process on a real directory.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { parse as parseJunit } from "test-results-parser";
import { afterAll, describe, expect, it } from "vitest";
import { type CliIO, main } from "../src/cli/main.js";
import { MODELS, redeemView, removeTempProjects, tempProject } from "./helpers/tempProject.js";
import { runCli } from "./helpers/runCli.js";

afterAll(removeTempProjects);

/** A quota guard then a create (STC108, medium) beside the unlocked redeem (STC102, high). */
const QUOTA_VIEW = `from django.http import JsonResponse
from .models import Voucher


def create_voucher(request):
    if Voucher.objects.filter(owner=request.user).count() >= 5:
        return JsonResponse({"error": "quota reached"}, status=429)
    Voucher.objects.create(owner=request.user, code="x")
    return JsonResponse({"ok": True})
`;

const shop = (extra: Record<string, string> = {}) => tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), "app/quota.py": QUOTA_VIEW, ...extra });

async function cli(argv: string[], cwd: string, options: { env?: Record<string, string>; tty?: boolean; stdin?: string } = {}) {
  let stdout = "";
  let stderr = "";
  const io: CliIO = {
    stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, env: options.env ?? {}, stdoutIsTTY: options.tty ?? false,
    ...(options.stdin !== undefined ? { readStdin: async () => options.stdin! } : {}),
  };
  const code = await main([...argv, "--no-cache"], io);
  return { code, stdout, stderr };
}

const rulesOf = (stdout: string) => (JSON.parse(stdout).findings as { rule: string }[]).map((f) => f.rule);

describe("small things", () => {
  it("`stalecheck help` prints the help, like --help", async () => {
    const run = await runCli(["help"], shop());
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Usage:");
    expect(run.stderr).toBe("");
  });

  it("suggests the rule meant by a mistyped selector", async () => {
    const run = await runCli(["--select", "STC1O1", "."], shop());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown rule selector: STC1O1 (did you mean STC101?)");
  });

  it("a --select on the command line is not undone by the configuration's ignore", async () => {
    const dir = shop({ "stalecheck.toml": "ignore = [\"STC108\"]\n" });
    expect(rulesOf((await runCli([".", "--format", "json"], dir)).stdout)).toEqual(["STC102"]);
    expect(rulesOf((await runCli([".", "--select", "STC108", "--format", "json"], dir)).stdout)).toEqual(["STC108"]);
    const none = await runCli([".", "--select", "STC108", "--ignore", "STC1"], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no rule left to run");
  });

  it("warns when there is no Python file to scan", async () => {
    const empty = await runCli(["."], tempProject({ "README.md": "# docs\n" }));
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe("No findings in 0 files.\n");
    expect(empty.stderr).toBe("stalecheck: warning: no Python files found in . (stalecheck reads *.py files; see --exclude and .gitignore)\n");
  });

  it("does not read a file named explicitly as Python unless it is (by name or #! line)", async () => {
    const dir = shop({ "README.md": "# Shop\n\nSee `app/views.py`.\n", "bin/manage": "#!/usr/bin/env python3\nimport sys\n" });
    const markdown = await runCli(["README.md"], dir);
    expect(markdown.code).toBe(2);
    expect(markdown.stdout).toContain("README.md error not a Python file");
    expect(markdown.stderr).toContain("no file could be analysed");
    const script = await runCli(["bin/manage", "--format", "json"], dir);
    expect(JSON.parse(script.stdout).summary.files).toBe(1);
    expect(JSON.parse(script.stdout).errors).toEqual([]);
  });

  it("hints when nothing scanned imports Django", async () => {
    const plain = await runCli(["."], tempProject({ "tool.py": "import sys\n\n\ndef main():\n    return sys.argv\n" }));
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain("stalecheck: hint: none of the 1 files scanned imports Django or Django REST Framework");
    expect((await runCli(["."], shop())).stderr).toBe("");
  });

  it("reports a broken parameter list as a syntax error", async () => {
    const run = await runCli([".", "--format", "json"], tempProject({ "app.py": "def f(:\n    pass\n" }));
    expect(JSON.parse(run.stdout).errors).toEqual([{ file: "app.py", line: 1, message: "syntax error at line 1, column 6; that region was skipped" }]);
  });

  it("honours FORCE_COLOR, then NO_COLOR, then the terminal", async () => {
    const dir = shop();
    const ansi = /\u001b\[/;
    expect((await cli(["."], dir, { env: { FORCE_COLOR: "1" } })).stdout).toMatch(ansi);
    expect((await cli(["."], dir, { env: { FORCE_COLOR: "1", NO_COLOR: "1" } })).stdout).toMatch(ansi);
    expect((await cli(["."], dir, { env: { FORCE_COLOR: "0" }, tty: true })).stdout).not.toMatch(ansi);
    expect((await cli(["."], dir, { env: { NO_COLOR: "1" }, tty: true })).stdout).not.toMatch(ansi);
    expect((await cli(["."], dir, { tty: true })).stdout).toMatch(ansi);
    expect((await cli(["."], dir)).stdout).not.toMatch(ansi);
  });
});

describe("report options", () => {
  it("--exit-zero exits 0 with findings, and still 2 on an error", async () => {
    const dir = shop();
    const run = await runCli([".", "--exit-zero"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("STC102");
    expect((await runCli(["missing/", "--exit-zero"], dir)).code).toBe(2);
  });

  it("--statistics counts findings per rule, in text or json", async () => {
    const dir = shop();
    const text = await runCli([".", "--statistics"], dir);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe(`    1  STC102  ${"missing-row-lock".padEnd(34)} 1 high\n    1  STC108  ${"check-then-create".padEnd(34)} 1 medium\n`);
    const json = JSON.parse((await runCli([".", "--statistics", "--format", "json"], dir)).stdout);
    expect(json).toEqual([
      { code: "STC102", name: "missing-row-lock", count: 1, severities: { high: 1 } },
      { code: "STC108", name: "check-then-create", count: 1, severities: { medium: 1 } },
    ]);
    expect((await runCli([".", "--statistics", "--format", "sarif"], dir)).code).toBe(2);
  });

  it("--format concise prints one line per finding; full is the default report", async () => {
    const dir = shop();
    const run = await runCli([".", "--format", "concise"], dir);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^app\/quota\.py:8:5: STC108 \[medium\] /);
    expect(lines[1]).toMatch(/^app\/views\.py:10:5: STC102 \[high\] Line 7 checks `voucher\.used`/);
    expect(lines[2]).toBe("Found 2 findings (1 high, 1 medium; STC102 ×1, STC108 ×1) in 3 files.");
    expect((await runCli([".", "--format", "full"], dir)).stdout).toBe((await runCli(["."], dir)).stdout);
    expect((await runCli([".", "--format", "text"], dir)).stdout).toBe((await runCli(["."], dir)).stdout);
  });

  it("--severity and --confidence filter the report, and the exit code follows it", async () => {
    const dir = shop();
    const high = await runCli([".", "--severity", "high", "--format", "json"], dir);
    expect(rulesOf(high.stdout)).toEqual(["STC102"]);
    const critical = await runCli([".", "--severity", "critical"], dir);
    expect(critical.code).toBe(0);
    expect(critical.stdout).toBe("No findings in 3 files.\n");
    expect(rulesOf((await runCli([".", "--confidence", "high", "--format", "json"], dir)).stdout)).toEqual(["STC108", "STC102"]);
    expect((await runCli([".", "--severity", "hihg"], dir)).stderr).toContain('--severity must be one of low, medium, high, critical, not "hihg" (did you mean high?)');
  });

  it("--extend-exclude and --extend-select add to the configuration", async () => {
    const dir = shop({ "stalecheck.toml": "select = [\"STC108\"]\nexclude = [\"quota.py\"]\n", "app/more.py": QUOTA_VIEW });
    expect((await runCli([".", "--format", "json"], dir)).stdout).toContain("app/more.py");
    const both = JSON.parse((await runCli([".", "--extend-select", "STC102", "--extend-exclude", "app/more.py", "--format", "json"], dir)).stdout);
    expect(both.findings.map((f: { file: string; rule: string }) => `${f.file} ${f.rule}`)).toEqual(["app/views.py STC102"]);
    // --exclude replaces the configuration's list: quota.py is scanned again.
    const replaced = JSON.parse((await runCli([".", "--exclude", "app/more.py", "--format", "json"], dir)).stdout);
    expect(replaced.findings.map((f: { file: string }) => f.file)).toEqual(["app/quota.py"]);
  });

  it("-q prints the findings only; -v says what was used", async () => {
    const dir = shop();
    const quiet = await runCli([".", "-q"], dir);
    expect(quiet.stdout).not.toContain("Found 2 findings");
    expect(quiet.stdout).toContain("app/views.py:10:5 STC102");
    const none = await runCli([".", "-q"], tempProject({ "README.md": "" }));
    expect(none.stdout).toBe("");
    expect(none.stderr).toBe("");
    const verbose = await runCli([".", "-v"], dir);
    expect(verbose.stderr).toContain("stalecheck: configuration: none found; project root: .");
    expect(verbose.stderr).toContain("stalecheck: rules: STC001, STC101");
    expect((await runCli([".", "-q", "-v"], dir)).code).toBe(2);
  });

  it("--stdin-filename scans standard input as that file, with its configuration", async () => {
    const dir = shop({ "stalecheck.toml": "exclude = [\"legacy\"]\n" });
    const run = await cli(["--stdin-filename", "app/views.py", "--format", "concise"], dir, { stdin: redeemView("from_editor") });
    expect(run.stdout).toMatch(/^app\/views\.py:10:5: STC102 \[high\] /);
    expect(run.stdout).toContain("in 1 file.");
    expect(run.code).toBe(1);
    // The file on disk is not read: the editor's unsaved text is what counts.
    expect((await cli(["--stdin-filename", "app/views.py"], dir, { stdin: "x = 1\n" })).stdout).toBe("No findings in 1 file.\n");
    expect((await cli(["--stdin-filename", "legacy/old.py"], dir, { stdin: redeemView() })).code).toBe(0);
    expect((await cli(["--stdin-filename", "app/views.py", "--exclude", "app/*.py"], dir, { stdin: redeemView() })).code).toBe(0);
    expect((await cli(["--stdin-filename", "app/views.py", "app"], dir, { stdin: "" })).code).toBe(2);
  });
});

/**
 * GitLab's Code Quality report format, as its documentation ("Code Quality report format")
 * describes it: a JSON array of objects with description, check_name, fingerprint, severity
 * (info, minor, major, critical or blocker) and location.path (relative to the repository, not
 * prefixed with ./) with location.lines.begin or location.positions.begin.line.
 */
const GITLAB_CODE_QUALITY_SCHEMA = {
  type: "array",
  items: {
    type: "object",
    required: ["description", "check_name", "fingerprint", "severity", "location"],
    properties: {
      description: { type: "string", minLength: 1 },
      check_name: { type: "string", minLength: 1 },
      fingerprint: { type: "string", minLength: 1 },
      severity: { enum: ["info", "minor", "major", "critical", "blocker"] },
      location: {
        type: "object",
        required: ["path"],
        properties: {
          path: { type: "string", minLength: 1, not: { pattern: "^(\\./|/)" } },
          lines: { type: "object", required: ["begin"], properties: { begin: { type: "integer", minimum: 1 }, end: { type: "integer", minimum: 1 } } },
          positions: { type: "object", required: ["begin"], properties: { begin: { type: "object", required: ["line"], properties: { line: { type: "integer", minimum: 1 } } } } },
        },
        anyOf: [{ required: ["lines"] }, { required: ["positions"] }],
      },
    },
  },
};

describe("CI formats", () => {
  const repo = join(import.meta.dirname, "..");

  it("--format gitlab writes a Code Quality report GitLab's format accepts", async () => {
    const run = await runCli(["examples/billing", "--format", "gitlab"], repo);
    const report = JSON.parse(run.stdout);
    const validate = new Ajv({ allErrors: true }).compile(GITLAB_CODE_QUALITY_SCHEMA);
    expect(validate(report), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(report.length).toBeGreaterThan(5);
    expect(new Set(report.map((i: { fingerprint: string }) => i.fingerprint)).size).toBe(report.length);
    expect(report[0].location.path).toMatch(/^examples\/billing\/invoices\//);
    expect(new Set(report.map((i: { severity: string }) => i.severity))).toEqual(new Set(["blocker", "major"]));
    expect(JSON.parse((await runCli([".", "--format", "gitlab"], tempProject({ "a.py": "" }))).stdout)).toEqual([]);
  });

  it("--format junit writes JUnit XML a JUnit parser reads: a failure per finding, an error per unscannable file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stalecheck-junit-"));
    const scanned = shop({ "app/blob.py": "\u0000\u0001binary", "app/odd.py": "# \u001b[31m <tag attr=\"x\"> & \u202e\nx = 1\n" });
    const run = await runCli([".", "--format", "junit"], scanned);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    writeFileSync(join(dir, "report.xml"), run.stdout);
    const result = parseJunit({ type: "junit", files: [join(dir, "report.xml")] });
    expect(result.total).toBe(3);
    expect(result.failed).toBe(2);
    expect(result.errors).toBe(1);
    const cases = result.suites.flatMap((s: { cases: { name: string; status: string; failure: string }[] }) => s.cases);
    expect(cases.map((c: { name: string; status: string }) => `${c.status} ${c.name}`)).toEqual([
      "FAIL STC108 check-then-create at line 8 in create_voucher",
      "FAIL STC102 missing-row-lock at line 10 in redeem",
      "FAIL stalecheck could not scan app/blob.py",
    ]);
    const clean = await runCli([".", "--format", "junit"], tempProject({ "a.py": "x = 1\n" }));
    writeFileSync(join(dir, "clean.xml"), clean.stdout);
    const passed = parseJunit({ type: "junit", files: [join(dir, "clean.xml")] });
    expect([passed.total, passed.passed, passed.failed]).toEqual([1, 1, 0]);
  });
});
