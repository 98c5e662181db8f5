/** `--format github`, the text report's code frame, colours and the progress bar. */
import { afterAll, describe, expect, it } from "vitest";
import { type CliIO, main } from "../src/cli/main.js";
import { progressBar } from "../src/cli/progress.js";
import { formatGithub } from "../src/report/github.js";
import { formatText } from "../src/report/text.js";
import type { Finding } from "../src/core/finding.js";
import type { ScanResult } from "../src/core/result.js";
import { MODELS, redeemView, removeTempProjects, tempProject } from "./helpers/tempProject.js";

afterAll(removeTempProjects);

function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    rule: "STC102", name: "missing-row-lock", severity: "high", confidence: "high", file: "shop/views.py", function: "pay",
    line: 20, column: 9, endLine: 20,
    check: { line: 14, text: "if order.status != 'open':", kind: "state" },
    use: { line: 20, text: "order.save()", kind: "write" },
    uses: [{ line: 20, text: "order.save()", kind: "write" }],
    basicAuth: false, route: null,
    message: "Line 14 checks `order.status`, 50% of the time: a, b\nc.", remediation: "Lock it: `select_for_update()`.",
    fingerprint: "0123456789abcdef", window: "requests.post() on line 16, 1 query",
    ...overrides,
  };
}

function result(findings: Finding[], extra: Partial<ScanResult> = {}): ScanResult {
  return {
    version: 1, tool: { name: "stalecheck", version: "0.1.0" },
    summary: { files: 3, functions: 5, findings: findings.length, errors: 0, durationMs: 1 },
    findings, errors: [], root: "/repo/src", cwd: "/repo/src", projectRoot: "/repo/src", endpoints: [], settingsFiles: [], ...extra,
  } as ScanResult;
}

async function run(argv: string[], options: { cwd: string; tty?: boolean; env?: Record<string, string> }) {
  let stdout = "";
  let stderr = "";
  const io: CliIO = {
    stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; },
    cwd: options.cwd, env: options.env ?? {}, stdoutIsTTY: options.tty ?? false, stderrIsTTY: options.tty ?? false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe("--format github", () => {
  it("writes one workflow command per finding, by severity, with escaped data and properties", () => {
    const out = formatGithub(result([
      finding(),
      finding({ severity: "medium", line: 30, endLine: 32, rule: "STC108", name: "check-then-create", check: null }),
      finding({ severity: "low", line: 40, endLine: 40 }),
    ]), { baseDir: "/repo" }).trimEnd().split("\n");
    expect(out).toHaveLength(3);
    expect(out[0]).toBe(
      "::error file=src/shop/views.py,line=20,endLine=20,col=9,title=STC102 missing-row-lock (high)::" +
      "Line 14 checks `order.status`, 50%25 of the time: a, b%0Ac.%0Acheck: line 14: if order.status != 'open':%0Afix: Lock it: `select_for_update()`.",
    );
    expect(out[1]).toMatch(/^::warning file=src\/shop\/views.py,line=30,endLine=32,title=STC108 check-then-create \(medium\)::/);
    expect(out[2]).toMatch(/^::notice file=src\/shop\/views.py,line=40,/);
  });

  it("escapes commas and colons in properties", () => {
    const out = formatGithub(result([finding({ file: "a,b:c.py" })]));
    expect(out).toContain("file=a%2Cb%3Ac.py,");
  });

  it("prints nothing when there is nothing to annotate", () => {
    expect(formatGithub(result([]))).toBe("");
  });

  it("annotates files that could not be scanned as warnings", () => {
    const out = formatGithub(result([], { errors: [{ file: "legacy/broken.py", line: 3, message: "syntax error" }] }));
    expect(out).toBe("::warning file=legacy/broken.py,line=3,title=stalecheck could not scan this::syntax error\n");
  });
});

describe("text report", () => {
  it("summarises what lies between the check and the use in the code frame", () => {
    const text = formatText(result([finding()]), { color: false });
    expect(text).toContain([
      "  14 | check  if order.status != 'open':",
      "   ⋮ |        5 lines between: requests.post() on line 16, 1 query",
      "  20 | use    order.save()",
    ].join("\n"));
  });

  it("shows every use the check guards in the frame, in line order", () => {
    const uses = [{ line: 20, text: "order.save()", kind: "write" as const }, { line: 22, text: "Payment.objects.create(order=order)", kind: "create" as const }];
    const text = formatText(result([finding({ uses })]), { color: false });
    expect(text).toContain([
      "  20 | use    order.save()",
      "  22 | use    Payment.objects.create(order=order)",
    ].join("\n"));
  });

  it("says how many findings the baseline covered", () => {
    expect(formatText(result([], { baselined: 2 }), { color: false })).toContain("No findings in 3 files (2 more covered by the baseline).");
  });

  it("colours only a TTY, and never under NO_COLOR", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "app/views.py": redeemView() });
    const esc = "\u001b[";
    expect((await run([dir, "--no-cache"], { cwd: dir, tty: true })).stdout).toContain(esc);
    expect((await run([dir, "--no-cache"], { cwd: dir, tty: true, env: { NO_COLOR: "1" } })).stdout).not.toContain(esc);
    expect((await run([dir, "--no-cache"], { cwd: dir, tty: false })).stdout).not.toContain(esc);
  });
});

describe("progress bar", () => {
  it("draws nothing for a scan shorter than the delay", () => {
    let out = "";
    let now = 0;
    const bar = progressBar((t) => { out += t; }, { delayMs: 400, now: () => now });
    for (let i = 1; i <= 10; i++) { now += 10; bar.update(i, 10); }
    bar.finish();
    expect(out).toBe("");
  });

  it("draws on stderr after the delay, throttled, and erases itself at the end", () => {
    const frames: string[] = [];
    let now = 0;
    const bar = progressBar((t) => frames.push(t), { delayMs: 400, now: () => now });
    for (let i = 1; i <= 100; i++) { now += 10; bar.update(i, 100); }
    bar.finish();
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.length).toBeLessThan(20);
    expect(frames.at(-2)).toBe(`\r\u001b[2K[${"#".repeat(30)}] 100/100 files`);
    expect(frames.at(-1)).toBe("\r\u001b[2K");
  });

  it("stays off stdout, is erased at the end, and is off with --no-progress or without a TTY", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "app/views.py": redeemView() });
    const env = { NO_COLOR: "1" };
    const onTty = await run([dir, "--no-cache"], { cwd: dir, tty: true, env });
    expect(onTty.stdout).not.toContain("files\r");
    // Whether a scan lasts long enough to draw depends on the machine; a drawn bar is erased.
    if (onTty.stderr.includes("[#")) expect(onTty.stderr.endsWith("\r\u001b[2K")).toBe(true);
    for (const [argv, tty] of [[[dir, "--no-cache", "--no-progress"], true], [[dir, "--no-cache"], false]] as const) {
      const { stderr } = await run([...argv], { cwd: dir, tty, env });
      expect(stderr).not.toContain("\r");
    }
  });
});
