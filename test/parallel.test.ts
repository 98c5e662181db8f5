/** Parallel extraction: the same bytes out whatever the worker count, and a per-file time budget. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExtractionPool } from "../src/extract/pool.js";
import { formatJson } from "../src/report/json.js";
import { formatText } from "../src/report/text.js";
import { scan } from "../src/scan.js";
import { copyFixtureTree, temporaryDirectory } from "./helpers/trees.js";

const tree = temporaryDirectory("parallel");
copyFixtureTree(tree.dir, { example: true });
afterAll(() => tree.remove());

/** The JSON report without its one run-dependent number. */
const stable = (json: string) => json.replace(/"durationMs": \d+/, '"durationMs": 0');

describe("parallel extraction", () => {
  it("gives byte-identical JSON and text for 1, 2 and 3 workers", async () => {
    const runs = [];
    for (const jobs of [1, 2, 3]) runs.push(await scan({ paths: [tree.dir], jobs }));
    const json = runs.map((r) => stable(formatJson(r)));
    const text = runs.map((r) => formatText(r, { color: false }).replace(/in \d+(\.\d+)? ?m?s/g, ""));
    expect(runs[0]!.findings.length).toBeGreaterThan(50);
    expect(runs[0]!.extraction?.parsed).toBe(runs[0]!.summary.files);
    expect(json[1]).toBe(json[0]);
    expect(json[2]).toBe(json[0]);
    expect(text[1]).toBe(text[0]);
    expect(text[2]).toBe(text[0]);
  });

  it("rejects a worker count that is not a positive integer", async () => {
    await expect(scan({ paths: [tree.dir], jobs: 0 })).rejects.toThrow(/positive integer/);
  });

  it("fails, rather than hangs, when no worker can start (here: a heap too small to load)", async () => {
    const pool = new ExtractionPool({ size: 2, timeoutMs: 10_000, extract: {}, maxHeapMb: 1 });
    try {
      const outcomes = ["a.py", "b.py", "c.py"].map((path) => pool.extract(path, "x = 1\n"));
      for (const outcome of outcomes) await expect(outcome).rejects.toThrow(/cannot start an extraction worker/);
      await expect(pool.extract("d.py", "y = 2\n")).rejects.toThrow(/cannot start an extraction worker/);
      await expect(pool.waitForRoom(1)).resolves.toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  it("terminates a worker past the per-file time budget, reports the file and goes on", async () => {
    const dir = temporaryDirectory("budget");
    try {
      // A 290,000-term boolean chain (4.7 MB, under the size limit) takes far longer to extract
      // than the 3 s budget; the fixtures take milliseconds. Should extraction ever read this
      // within the budget, make the file slower rather than the budget shorter.
      const terms = Array.from({ length: 290_000 }, (_, i) => `u.flag${i}`);
      writeFileSync(join(dir.dir, "a_generated.py"), `def allowed(u):\n    return ${terms.join(" or ")}\n`);
      copyFixtureTree(dir.dir);
      const result = await scan({ paths: [dir.dir], jobs: 1, fileTimeoutMs: 3000 });
      const budget = result.errors.filter((e) => /per-file time budget/.test(e.message));
      expect(budget.map((e) => e.file)).toEqual(["a_generated.py"]);
      expect(budget[0]!.message).toMatch(/took longer than the 3 s per-file time budget \(--file-timeout\)/);
      // The replacement worker read everything else: same findings as a scan without the big file.
      const reference = await scan({ paths: [join(dir.dir, "rules")], jobs: 1 });
      expect(result.findings.map((f) => `${f.file}:${f.line}:${f.rule}`)).toEqual(reference.findings.map((f) => `rules/${f.file}:${f.line}:${f.rule}`));
    } finally {
      dir.remove();
    }
  });
});
