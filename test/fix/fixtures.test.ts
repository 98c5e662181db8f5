/**
 * Fixes over every rule's fixtures and over the example project: what `--fix --unsafe-fixes`
 * leaves parses, a second run changes nothing, each fix silenced the findings it was made for,
 * and outside the functions it fixed (and the imports it added) the text is byte for byte
 * what it was.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Finding } from "../../src/core/finding.js";
import { parsePython } from "../../src/parse/parser.js";
import { type FixReport, findingKey, runFixes } from "../../src/fix/runFixes.js";
import { qualifiedName, readPySource } from "../../src/fix/pySource.js";
import { Workspace } from "../../src/fix/workspace.js";

const REPO = join(import.meta.dirname, "..", "..");
/** Python's own parser, where there is a python3 (the demo's Debian packages bring one): tree-sitter is more lenient. */
const PYTHON = spawnSync("python3", ["--version"]).status === 0;

function pythonParses(files: readonly string[]): string {
  if (!PYTHON || files.length === 0) return "";
  const run = spawnSync("python3", ["-c", "import ast, sys\nfor f in sys.argv[1:]:\n    ast.parse(open(f, encoding='utf-8').read(), f)", ...files], { encoding: "utf8" });
  return run.status === 0 ? "" : run.stderr;
}
const RULES_DIR = join(REPO, "test", "fixtures", "rules");
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function copy(from: string): string {
  const dir = mkdtempSync(join(tmpdir(), "stalecheck-fix-"));
  made.push(dir);
  cpSync(from, dir, { recursive: true });
  return dir;
}

async function fixTree(dir: string, unsafe: boolean, includeNonRequest = true): Promise<{ before: Finding[]; report: FixReport; after: Finding[] }> {
  const { workspace, result } = await Workspace.open({ paths: [dir], cwd: dir, includeNonRequest });
  const report = await runFixes(workspace, { unsafe });
  for (const [file, { fixed }] of report.files) writeFileSync(join(dir, file), fixed);
  return { before: result.findings, report, after: workspace.findings() };
}

/**
 * The text with every function named in `functions` blanked out, the import lines a fix may add
 * dropped, and for STC001 the suppression comments' lines (which its fix edits) dropped too.
 */
async function outsideFixedFunctions(path: string, text: string, functions: ReadonlySet<string>, suppressions: boolean): Promise<string> {
  const source = await readPySource(path, text);
  const spans = source.root.descendantsOfType("function_definition")
    .filter((n) => functions.has(qualifiedName(n)))
    .map((n) => [n.startIndex, n.endIndex] as const)
    .sort((a, b) => b[0] - a[0]);
  let out = text;
  for (const [start, end] of spans) out = `${out.slice(0, start)}<fn>${out.slice(end)}`;
  out = out.replace(/^from django\.(db|contrib\.auth|db\.models) import (transaction|get_user_model|F)\r?\n/gm, "");
  return suppressions ? out.split("\n").filter((l) => !/noqa|stalecheck:|# expect:/.test(l)).join("\n") : out;
}

describe.each(readdirSync(RULES_DIR).sort())("fixes on the %s fixtures", (rule) => {
  it("leave valid Python, silence what they fix, touch nothing else, and change nothing on a second run", async () => {
    const dir = copy(join(RULES_DIR, rule));
    const { before, report, after } = await fixTree(dir, true);
    const left = new Set(after.map(findingKey));
    for (const [file, { original, fixed }] of report.files) {
      expect((await parsePython(fixed)).hasError, `${file} does not parse after the fixes`).toBe(false);
      const fixedHere = before.filter((f) => f.file === file && !left.has(findingKey(f)));
      const functions = new Set(fixedHere.filter((f) => f.rule !== "STC001").map((f) => f.function));
      const suppressions = fixedHere.some((f) => f.rule === "STC001");
      expect(await outsideFixedFunctions(file, fixed, functions, suppressions), `${file} changed outside the fixed functions`)
        .toBe(await outsideFixedFunctions(file, original, functions, suppressions));
    }
    expect(pythonParses([...report.files.keys()].map((f) => join(dir, f)))).toBe("");
    for (const fix of report.applied) {
      for (const f of before.filter((b) => fix.resolves.includes(b.fingerprint))) {
        expect(left.has(findingKey(f)), `${f.file}:${f.line} ${f.rule} is still reported after "${fix.title}"`).toBe(false);
      }
    }
    const again = await fixTree(dir, true);
    expect([...again.report.files.keys()], "a second run changed files").toEqual([]);
  });
});

describe("fixes on the example project (examples/billing)", () => {
  const counted = (findings: readonly Finding[]) => findings.filter((f) => ["STC101", "STC102", "STC108"].includes(f.rule)).length;

  it("--fix --unsafe-fixes removes every STC101/STC102/STC108 finding, and a second run changes nothing", async () => {
    const dir = copy(join(REPO, "examples", "billing"));
    const { before, report, after } = await fixTree(dir, true, false);
    expect(counted(before)).toBeGreaterThan(0);
    expect(counted(after)).toBeLessThanOrEqual(counted(before) / 2);
    expect(counted(after)).toBe(0);
    expect(after).toEqual([]);
    expect([...report.files.keys()]).toEqual(["invoices/views.py"]);
    expect(report.applied.filter((f) => f.safety === "unsafe").map((f) => f.rule).sort()).toEqual(["STC101", "STC101", "STC108"]);
    for (const [, { fixed }] of report.files) expect((await parsePython(fixed)).hasError).toBe(false);
    expect(pythonParses([...report.files.keys()].map((f) => join(dir, f)))).toBe("");
    const again = await fixTree(dir, true, false);
    expect(again.before).toEqual([]);
    expect([...again.report.files.keys()]).toEqual([]);
  });

  it("--fix alone applies only safe fixes and counts the unsafe ones it left", async () => {
    const dir = copy(join(REPO, "examples", "billing"));
    const { before, report, after } = await fixTree(dir, false, false);
    expect(report.applied.every((f) => f.safety === "safe")).toBe(true);
    expect(after.filter((f) => f.rule === "STC102" || f.rule === "STC105")).toEqual([]);
    expect(after.map((f) => f.rule).sort()).toEqual(before.filter((f) => f.rule === "STC101" || f.rule === "STC108").map((f) => f.rule).sort());
    expect(report.hiddenUnsafe).toBe(after.length);
    for (const { reason } of report.remaining) expect(reason).toMatch(/--unsafe-fixes/);
  });
});
