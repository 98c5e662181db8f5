/**
 * Hostile input (issue 5): the corpus of scripts/hostile-corpus.mjs, scanned through the CLI.
 * Never a crash or a hang; each problem file in errors[] with a clear reason; the real findings
 * of the good files of the same tree still reported.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { generateHostileCorpus } from "../scripts/hostile-corpus.mjs";
import { expectedMarkers } from "./helpers/fixtures.js";
import { temporaryDirectory } from "./helpers/trees.js";

interface Case {
  path: string;
  expect: "findings" | "clean" | "error" | "parsed" | "absent";
  reason?: RegExp;
  why: string;
}
interface Report {
  summary: { files: number };
  findings: { file: string; line: number; rule: string }[];
  errors: { file: string; line?: number; message: string }[];
}

const work = temporaryDirectory("hostile");
const corpus = generateHostileCorpus(work.dir) as { root: string; outside: string; manifest: Case[] };
afterAll(() => work.remove());

/**
 * Budgets for the test: the 12.5 MB if-nest is read (under 16 MB), the 20 MB file is not. The
 * per-file time budget is an hour, so that what is reported never depends on the machine's
 * speed or load (every file here is read in a few seconds; a hang fails the hook's timeout).
 * The budget itself is tested with a controlled clock in parallel.test.ts.
 */
const ARGS = ["--format", "json", "--no-cache", "--jobs", "2", "--max-file-size", "16MB", "--file-timeout", "3600"];
let report: Report;
let exitCode: number;
let stderr = "";

beforeAll(async () => {
  const out: string[] = [];
  exitCode = await main(["check", corpus.root, ...ARGS], {
    stdout: (t) => out.push(t), stderr: (t) => { stderr += t; }, cwd: work.dir, env: {}, stdoutIsTTY: false,
  });
  report = JSON.parse(out.join("")) as Report;
});

const errorsOf = (path: string) => report.errors.filter((e) => e.file === path);
const findingsOf = (path: string) => report.findings.filter((f) => f.file === path).map((f) => `${f.line}:${f.rule}`).sort();

describe("hostile corpus", () => {
  it("is scanned to the end: exit 1 (findings), no internal error", () => {
    expect(stderr).toBe("");
    expect(exitCode).toBe(1);
    expect(report.summary.files).toBeGreaterThan(0);
  });

  it("reports no error for a path outside the manifest, and nothing from outside the root", () => {
    const known = new Set(corpus.manifest.map((c) => c.path));
    expect(report.errors.filter((e) => !known.has(e.file))).toEqual([]);
    expect(report.findings.filter((f) => !known.has(f.file))).toEqual([]);
    expect(JSON.stringify(report)).not.toContain("leak.py");
  });

  describe.each(corpus.manifest.map((c) => [c.path, c] as const))("%s", (path, c) => {
    it(`${c.why}: ${c.expect}`, () => {
      const errors = errorsOf(path);
      switch (c.expect) {
        case "findings": {
          const markers = [...expectedMarkers(readFileSync(join(corpus.root, path), "utf8"))].sort();
          expect(markers.length).toBeGreaterThan(0);
          expect(errors).toEqual([]);
          expect(findingsOf(path)).toEqual(markers);
          break;
        }
        case "clean":
          expect(errors).toEqual([]);
          expect(findingsOf(path)).toEqual([]);
          break;
        case "error":
          expect(errors.length).toBeGreaterThan(0);
          for (const e of errors) expect(e.message).toMatch(c.reason!);
          break;
        case "parsed":
          // Read in full, or stopped by a budget or a syntax problem: never a crash.
          for (const e of errors) expect(e.message).toMatch(/syntax error|missing|per-file time budget/);
          for (const e of errors) expect(e.message).not.toMatch(/internal error/);
          break;
        case "absent":
          expect(errors).toEqual([]);
          expect(findingsOf(path)).toEqual([]);
          break;
      }
    });
  });
});
