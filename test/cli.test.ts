/**
 * The CLI as a user meets it: the built `bin/stalecheck.js` run as a child process on real
 * directories, checking exit codes, what lands on stdout/stderr, and the JSON contract.
 * Needs the build in dist/ (`npm test` runs `npm run build` first).
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, it } from "vitest";
import { ruleDocMarkdown } from "../src/report/ruleDocs.js";
import { RULES } from "../src/rules/registry.js";
import { CHILD_HANG_GUARD_MS } from "./helpers/hangGuard.js";

const repo = join(import.meta.dirname, "..");
const bin = join(repo, "bin", "stalecheck.js");
const billing = join(repo, "examples", "billing");
const schema = JSON.parse(readFileSync(join(repo, "schema", "stalecheck-output.schema.json"), "utf8"));
const validateReport = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI; resolves (never rejects) with its exit code and output. By default in a fresh
 * empty working directory, so that nothing the CLI leaves in its working directory (a cache)
 * lands in the repository or is shared between runs.
 */
function stalecheck(args: readonly string[], options: { cwd?: string } = {}): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd ?? project({}), encoding: "utf8", timeout: CHILD_HANG_GUARD_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } },
      (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }),
    );
  });
}

interface Report {
  version: number;
  summary: { files: number; functions: number; findings: number; errors: number; durationMs: number };
  findings: { rule: string; name: string; severity: string; file: string; function: string; line: number }[];
  errors: { file: string; line?: number; message: string }[];
}

/** Parses a JSON report after checking it against the published schema. */
function parseReport(run: Run): Report {
  const report = JSON.parse(run.stdout) as Report;
  const valid = validateReport(report);
  if (!valid) throw new Error(`report does not match schema/stalecheck-output.schema.json:\n${JSON.stringify(validateReport.errors, null, 2)}`);
  return report;
}

const ruleLines = (report: Report) => report.findings.map((f) => `${f.file}:${f.line} ${f.rule}`);

// ---- temporary projects ---------------------------------------------------------------------

const tempDirs: string[] = [];

function project(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), "stalecheck-cli-"));
  tempDirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const MODELS = `from django.conf import settings
from django.db import models


class Invoice(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)


class Voucher(models.Model):
    code = models.CharField(max_length=32, unique=True)
    used = models.BooleanField(default=False)
`;

/** A quota guard followed by a create: STC108, medium. */
const QUOTA_VIEW = `from django.http import JsonResponse
from .models import Invoice


def create_invoice(request):
    if Invoice.objects.filter(owner=request.user).count() >= 5:
        return JsonResponse({"error": "quota reached"}, status=429)
    invoice = Invoice.objects.create(owner=request.user)
    return JsonResponse({"id": invoice.pk})
`;

/** A voucher checked, a service called, then the voucher written without a lock: STC102, high. */
const VOUCHER_VIEW = `from django.http import JsonResponse
from .models import Voucher
from .notifications import send_receipt


def redeem(request, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return JsonResponse({"error": "already used"}, status=409)
    send_receipt(request.user, voucher)
    voucher.used = True
    voucher.save()
    return JsonResponse({"ok": True})
`;

/** The compare-and-set fix: nothing to report. */
const SAFE_VIEW = `from django.http import JsonResponse
from .models import Voucher


def redeem(request, code):
    claimed = Voucher.objects.filter(code=code, used=False).update(used=True)
    if claimed == 0:
        return JsonResponse({"error": "already used"}, status=409)
    return JsonResponse({"ok": True})
`;

/** The same unlocked check-then-write, outside request code. */
const VOUCHER_SCRIPT = `from shop.models import Redemption, Voucher


def redeem(code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return
    voucher.used = True
    voucher.save()
    Redemption.objects.create(voucher=voucher)
`;

let clean: string;
let mediumOnly: string;
let mixed: string;
let damaged: string;
let nonRequest: string;

beforeAll(() => {
  if (!existsSync(join(repo, "dist", "cli", "main.js"))) throw new Error("dist/ is missing: run `npx tsc -p .` (or `npm test`) before these tests");
  clean = project({ "shop/__init__.py": "", "shop/models.py": MODELS, "shop/views.py": SAFE_VIEW });
  mediumOnly = project({ "billing/__init__.py": "", "billing/models.py": MODELS, "billing/views.py": QUOTA_VIEW });
  mixed = project({ "billing/__init__.py": "", "billing/models.py": MODELS, "billing/views.py": QUOTA_VIEW, "shop/views.py": VOUCHER_VIEW });
  damaged = project({
    "billing/models.py": MODELS,
    "billing/views.py": QUOTA_VIEW,
    // A good function, then one whose signature never closes.
    "billing/broken.py": 'from django.http import JsonResponse\n\n\ndef ping(request):\n    return JsonResponse({"ok": True})\n\n\ndef refund(request, pk:\n    return JsonResponse({"refunded": pk}\n',
    "billing/compiled.py": Buffer.from([0x78, 0x20, 0x3d, 0x20, 0x31, 0x0a, 0x00, 0x01, 0x02, 0xff, 0x0a]),
    "billing/legacy.py": Buffer.concat([Buffer.from('NAME = "caf'), Buffer.from([0xe9]), Buffer.from('"\n')]),
  });
  nonRequest = project({
    "shop/__init__.py": "",
    "shop/tests/test_redeem.py": VOUCHER_SCRIPT,
    "shop/migrations/0002_redeem_legacy.py": VOUCHER_SCRIPT,
    "shop/management/commands/redeem_voucher.py": VOUCHER_SCRIPT,
  });
});

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// Each test spawns its own process, so they can run side by side.
describe.concurrent("stalecheck CLI", () => {
  describe("exit codes", () => {
    it("exits 0 and says so on a clean project", async ({ expect }) => {
      const run = await stalecheck([clean]);
      expect(run.stderr).toBe("");
      expect(run.stdout).toMatch(/^No findings in 3 files\.\n$/);
      expect(run.code).toBe(0);
    });

    it("exits 1 when there are findings", async ({ expect }) => {
      const run = await stalecheck([mediumOnly]);
      expect(run.stdout).toContain("billing/views.py:8:");
      expect(run.stdout).toContain("STC108 medium check-then-create");
      expect(run.code).toBe(1);
    });

    it("--fail-on high exits 0 when only medium findings exist, and still prints them", async ({ expect }) => {
      const run = await stalecheck([mediumOnly, "--fail-on", "high"]);
      expect(run.stdout).toContain("STC108 medium");
      expect(run.code).toBe(0);
    });

    it("--fail-on high exits 1 when a high finding exists", async ({ expect }) => {
      const run = await stalecheck([mixed, "--fail-on", "high", "--format", "json"]);
      const report = parseReport(run);
      expect(report.findings.map((f) => `${f.file}:${f.line} ${f.rule} ${f.severity}`)).toEqual([
        "billing/views.py:8 STC108 medium",
        "shop/views.py:12 STC102 high",
      ]);
      expect(run.code).toBe(1);
    });
  });

  describe("usage errors exit 2 with a message on stderr", () => {
    it("an unknown option", async ({ expect }) => {
      const run = await stalecheck(["--frobnicate", clean]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain("unknown option --frobnicate");
      expect(run.stderr).toContain("stalecheck --help");
    });

    it("a typo of a known option suggests the option", async ({ expect }) => {
      const run = await stalecheck(["--formt", "json", clean]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain("unknown option --formt (did you mean --format?)");
    });

    it("a bad --format value", async ({ expect }) => {
      const run = await stalecheck(["--format", "xml", clean]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/--format must be one of full, concise, json\b.*, not "xml"/);
    });

    it("a bad --fail-on value", async ({ expect }) => {
      const run = await stalecheck(["--fail-on", "severe", clean]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('--fail-on must be one of low, medium, high, critical, not "severe"');
    });

    it.for([
      ["--select", "STC999"],
      ["--ignore", "no-such-rule"],
    ])("an unknown rule in %s", async ([option, value], { expect }) => {
      if (!option || !value) throw new Error("bad table row");
      const run = await stalecheck([option, value, clean]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain(`unknown rule selector: ${value}`);
      expect(run.stderr).toContain("stalecheck rules");
    });

    it("a path that does not exist", async ({ expect }) => {
      // A typo in a CI script must not pass as "no findings".
      const run = await stalecheck(["no/such/dir", "--format", "json"]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("no/such/dir");
    });

    it("an --output file that cannot be written is a plain error, not an internal one", async ({ expect }) => {
      const target = join(project({}), "missing-dir", "report.txt");
      const run = await stalecheck([clean, "--output", target]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(target);
      expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
    });

    it("explain of an unknown rule", async ({ expect }) => {
      const run = await stalecheck(["explain", "NOPE"]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain('no rule "NOPE"');
    });
  });

  describe("rule selection", () => {
    const rulesIn = async (args: string[]) => {
      const run = await stalecheck([mixed, "--format", "json", ...args]);
      return { run, rules: parseReport(run).findings.map((f) => f.rule) };
    };

    it("--select STC108 keeps only that rule", async ({ expect }) => {
      const { run, rules } = await rulesIn(["--select", "STC108"]);
      expect(rules).toEqual(["STC108"]);
      expect(run.code).toBe(1);
    });

    it("--select by name (missing-row-lock)", async ({ expect }) => {
      expect((await rulesIn(["--select", "missing-row-lock"])).rules).toEqual(["STC102"]);
    });

    it("--select with a comma-separated list", async ({ expect }) => {
      expect((await rulesIn(["--select", "STC102,check-then-create"])).rules).toEqual(["STC108", "STC102"]);
    });

    it("--ignore by name", async ({ expect }) => {
      expect((await rulesIn(["--ignore", "check-then-create"])).rules).toEqual(["STC102"]);
    });

    it("--ignore STC1 (a code prefix) drops every STC1xx rule and exits 0", async ({ expect }) => {
      const { run, rules } = await rulesIn(["--ignore", "STC1"]);
      expect(rules).toEqual([]);
      expect(run.code).toBe(0);
    });
  });

  describe("rules and explain", () => {
    const explained = new Map<string, Promise<Run>>();
    const explain = (rule: string) => explained.get(rule) ?? explained.set(rule, stalecheck(["explain", rule])).get(rule)!;

    it("`rules` lists every rule with its name", async ({ expect }) => {
      const run = await stalecheck(["rules"]);
      expect(run.code).toBe(0);
      const lines = run.stdout.trimEnd().split("\n");
      expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(RULES.map((r) => r.meta.code));
      expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(RULES.map((r) => r.meta.name));
      expect(RULES.map((r) => r.meta.code)).toEqual(expect.arrayContaining(["STC101", "STC102", "STC105", "STC108"]));
    });

    it("`rules --format json` is a parseable list", async ({ expect }) => {
      const run = await stalecheck(["rules", "--format", "json"]);
      expect(run.code).toBe(0);
      const listed = JSON.parse(run.stdout) as { code: string; name: string }[];
      expect(listed.map((r) => r.code)).toEqual(RULES.map((r) => r.meta.code));
    });

    it("`explain STC101` prints the rule's documentation", async ({ expect }) => {
      const run = await explain("STC101");
      expect(run.code).toBe(0);
      expect(run.stderr).toBe("");
      expect(run.stdout).toMatch(/^# STC101 authz-check-outside-transaction\n/);
      expect(run.stdout).toContain("## Use instead");
      expect(run.stdout).toBe(ruleDocMarkdown(RULES.find((r) => r.meta.code === "STC101")!.meta));
    });

    it.for(["authz-check-outside-transaction", "stc101"])("`explain %s` prints the same documentation", async (rule, { expect }) => {
      const [byCode, other] = await Promise.all([explain("STC101"), explain(rule)]);
      expect(other.code).toBe(0);
      expect(other.stdout).toBe(byCode.stdout);
    });
  });

  describe("output", () => {
    // examples/billing by absolute path (twice), and a copy of it by a relative path.
    const billingRuns = new Map<string, Promise<Run>>();
    const billingJson = (key: "first" | "second" | "relative") => {
      if (!billingRuns.has(key)) {
        if (key === "relative") {
          const work = project({});
          cpSync(billing, join(work, "billing"), { recursive: true });
          billingRuns.set(key, stalecheck(["billing", "--format", "json"], { cwd: work }));
        } else {
          billingRuns.set(key, stalecheck([billing, "--format", "json"]));
        }
      }
      return billingRuns.get(key)!;
    };

    it("--output FILE writes the report there and nothing to stdout", async ({ expect }) => {
      const out = project({});
      const run = await stalecheck([mediumOnly, "--format", "json", "--output", "report.json"], { cwd: out });
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe("");
      expect(run.code).toBe(1);
      const written = parseReport({ ...run, stdout: readFileSync(join(out, "report.json"), "utf8") });
      expect(ruleLines(written)).toEqual(["billing/views.py:8 STC108"]);
    });

    it("-o FILE writes the text report", async ({ expect }) => {
      const out = project({});
      const run = await stalecheck(["-o", join(out, "report.txt"), mediumOnly]);
      expect(run.stdout).toBe("");
      expect(readFileSync(join(out, "report.txt"), "utf8")).toContain("billing/views.py:8:15 STC108 medium check-then-create");
    });

    it("JSON for examples/billing matches the schema", async ({ expect }) => {
      const run = await billingJson("first");
      expect(run.stderr).toBe("");
      expect(run.code).toBe(1);
      const report = parseReport(run);
      expect(report.summary.findings).toBe(report.findings.length);
      expect(report.summary.errors).toBe(0);
      expect(report.findings.length).toBeGreaterThan(0);
    });

    it("file paths are relative to the scanned directory, with forward slashes, however it is named", async ({ expect }) => {
      const [absolute, relative] = await Promise.all([billingJson("first"), billingJson("relative")]);
      const a = parseReport(absolute);
      const b = parseReport(relative);
      for (const f of a.findings) {
        expect(f.file).not.toContain("\\");
        expect(isAbsolute(f.file)).toBe(false);
        expect(f.file).not.toMatch(/^(\.\.?\/|examples\/|billing\/)/);
        expect(existsSync(join(billing, f.file))).toBe(true);
      }
      expect(a.findings.map((f) => f.file)).toContain("invoices/views.py");
      expect(ruleLines(b)).toEqual(ruleLines(a));
    });

    it("two JSON runs are identical apart from durationMs", async ({ expect }) => {
      const runs = await Promise.all([billingJson("first"), billingJson("second")]);
      const [a, b] = runs.map((r) => r.stdout.replace(/"durationMs": \d+/, '"durationMs": 0'));
      expect(a).toMatch(/"findings": \[\n/);
      expect(b).toBe(a);
    });

    it("two text runs are byte-identical", async ({ expect }) => {
      const [a, b] = await Promise.all([stalecheck([billing]), stalecheck([billing])]);
      expect(a.stdout.length).toBeGreaterThan(0);
      expect(b.stdout).toBe(a.stdout);
      expect(b.code).toBe(a.code);
    });
  });

  describe("files that cannot be scanned", () => {
    let damagedRun: Promise<Run> | undefined;
    const damagedReport = async () => parseReport(await (damagedRun ??= stalecheck([damaged, "--format", "json"])));

    it("JSON with read errors still matches the schema, and the good files are still reported", async ({ expect }) => {
      const report = await damagedReport();
      expect(ruleLines(report)).toEqual(["billing/views.py:8 STC108"]);
      expect(report.summary.errors).toBe(report.errors.length);
      expect(report.summary.files).toBe(5);
      expect((await damagedRun!).code).toBe(1);
    });

    it("an unparsable file is reported in errors[] by its relative path and line", async ({ expect }) => {
      const errors = (await damagedReport()).errors.filter((e) => e.file === "billing/broken.py");
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]!.line).toBe(8);
      expect(errors[0]!.message).toMatch(/syntax error/);
    });

    it("a binary .py file (NUL bytes) is reported, not scanned", async ({ expect }) => {
      const errors = (await damagedReport()).errors.filter((e) => e.file === "billing/compiled.py");
      expect(errors).toEqual([{ file: "billing/compiled.py", message: expect.stringMatching(/binary/) }]);
    });

    it("an invalid UTF-8 .py file is reported, not scanned", async ({ expect }) => {
      const errors = (await damagedReport()).errors.filter((e) => e.file === "billing/legacy.py");
      expect(errors).toEqual([{ file: "billing/legacy.py", message: expect.stringMatching(/UTF-8/) }]);
    });

    it("the text report lists the errors too", async ({ expect }) => {
      const run = await stalecheck([damaged]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain("billing/compiled.py error");
      expect(run.stdout).toContain("billing/legacy.py error");
      expect(run.stdout).toMatch(/in 5 files, \d+ errors\.\n$/);
    });

    it("20000 nested parentheses do not crash it", async ({ expect }) => {
      const depth = 20_000;
      const dir = project({
        "app/generated.py": `TABLE = ${"(".repeat(depth)}1${")".repeat(depth)}\n\n\ndef view(request):\n    value = ${"(".repeat(depth)}request.user${")".repeat(depth)}\n    return value\n`,
      });
      // An hour's per-file budget: the outcome must not depend on how fast this machine is.
      const run = await stalecheck([dir, "--format", "json", "--file-timeout", "3600", "--quiet"]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const report = parseReport(run);
      expect(report.errors).toEqual([]);
      expect(report.summary.functions).toBe(1);
      expect(report.findings).toEqual([]);
    });

    it("20000 nested calls f(f(…)) in a function are analysed to the end", async ({ expect }) => {
      const depth = 20_000;
      const dir = project({ "app/generated.py": `def view(request):\n    return ${"wrap(".repeat(depth)}request.user${")".repeat(depth)}\n` });
      // An hour's per-file budget: the outcome must not depend on how fast this machine is; a
      // blow-up in the walker shows as the process killed (exit code null) by the hang guard.
      const run = await stalecheck([dir, "--format", "json", "--file-timeout", "3600"]);
      expect(run.code, `exit code ${run.code} (null: killed by the hang guard)`).toBe(0);
      const report = parseReport(run);
      // Skipped for taking too long is not finishing.
      expect(report.errors).toEqual([]);
      expect(report.summary.functions).toBe(1);
      expect(report.findings).toEqual([]);
    });
  });

  describe("non-request code", () => {
    it("tests/, migrations/ and management/commands/ give no findings by default", async ({ expect }) => {
      const run = await stalecheck([nonRequest, "--format", "json"]);
      const report = parseReport(run);
      expect(report.summary.files).toBe(4);
      expect(report.findings).toEqual([]);
      expect(run.code).toBe(0);
    });

    it("--include-non-request reports them", async ({ expect }) => {
      const run = await stalecheck([nonRequest, "--format", "json", "--include-non-request"]);
      expect(ruleLines(parseReport(run))).toEqual([
        "shop/management/commands/redeem_voucher.py:9 STC102",
        "shop/migrations/0002_redeem_legacy.py:9 STC102",
        "shop/tests/test_redeem.py:9 STC102",
      ]);
      expect(run.code).toBe(1);
    });
  });

  describe("the bin shim", () => {
    /** A copy of bin/ and dist/ (node_modules linked), whose bundle a test may replace. */
    const install = (): { dir: string; run: () => Promise<Run> } => {
      const dir = project({});
      for (const part of ["bin", "dist", "package.json"]) cpSync(join(repo, part), join(dir, part), { recursive: true });
      symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"));
      const run = () => new Promise<Run>((done) => {
        const child = execFile(process.execPath, [join(dir, "bin", "stalecheck.js"), "--version"], { encoding: "utf8", timeout: CHILD_HANG_GUARD_MS },
          (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }));
      });
      return { dir, run };
    };
    const decoy = 'throw new Error("the bundle ran");\n';

    it("runs the bundle when it is at least as new as tsc's modules", async ({ expect }) => {
      const { dir, run } = install();
      writeFileSync(join(dir, "dist", "stalecheck.mjs"), decoy);
      expect((await run()).stderr).toContain("the bundle ran");
    });

    it("runs tsc's modules when the bundle is older than them or missing", async ({ expect }) => {
      const { dir, run } = install();
      const bundle = join(dir, "dist", "stalecheck.mjs");
      writeFileSync(bundle, decoy);
      const past = new Date(Date.now() - 60_000);
      utimesSync(bundle, past, past);
      const stale = await run();
      expect(stale.stderr).toBe("");
      expect(stale.stdout).toMatch(/^stalecheck \d+\.\d+\.\d+\n$/);
      rmSync(bundle);
      expect((await run()).stdout).toBe(stale.stdout);
    });
  });
});
