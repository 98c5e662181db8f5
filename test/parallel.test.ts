/** Parallel extraction: the same bytes out whatever the worker count, and a per-file time budget. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { type BudgetTimer, ExtractionPool, startBudgetTimer } from "../src/run/pool.js";
import { formatJson } from "../src/report/json.js";
import { formatText } from "../src/report/text.js";
import { scan } from "../src/run/scan.js";
import { FIXTURE_RULES, copyFixtureTree, pythonFiles, temporaryDirectory } from "./helpers/trees.js";

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
      copyFixtureTree(dir.dir);
      // The first file in discovery order, with findings of its own should it ever be read.
      writeFileSync(join(dir.dir, "a_victim.py"), readFileSync(join(FIXTURE_RULES, "STC102", "function_views.py"), "utf8"));
      // The test is the clock: only the victim's budget runs out, the moment its worker
      // reaches it (before any answer of that worker can be handled), with the files queued
      // behind it already sent to the same worker. Every other budget never runs out.
      const log: string[] = [];
      const startBudget: BudgetTimer = (path, ms, expire) => {
        log.push(`start ${path} ${ms}`);
        if (path !== "a_victim.py") return () => log.push(`done ${path}`);
        queueMicrotask(() => {
          log.push(`expire ${path}`);
          expire();
        });
        return () => undefined;
      };
      const result = await scan({ paths: [dir.dir], jobs: 1, fileTimeoutMs: 3000, testBudgetTimer: startBudget });
      const budget = result.errors.filter((e) => /per-file time budget/.test(e.message));
      expect(budget).toEqual([{ file: "a_victim.py", message: "skipped: reading this file took longer than the 3 s per-file time budget (--file-timeout)" }]);
      expect(result.errors).toEqual(budget);
      expect(result.findings.filter((f) => f.file === "a_victim.py")).toEqual([]);
      // Every file got a budget of the configured length; the victim's ran out first thing, and
      // the one worker there was is gone: every other file was read by its replacement.
      const others = pythonFiles(dir.dir).filter((f) => f !== "a_victim.py");
      expect(log.slice(0, 2)).toEqual(["start a_victim.py 3000", "expire a_victim.py"]);
      expect(log.slice(2).filter((l) => l.startsWith("start")).sort()).toEqual(others.map((f) => `start ${f} 3000`).sort());
      expect(log.slice(2).filter((l) => l.startsWith("done")).sort()).toEqual(others.map((f) => `done ${f}`).sort());
      // Same findings, errors aside, as a scan without the victim.
      const reference = await scan({ paths: [join(dir.dir, "rules")], jobs: 1 });
      expect(reference.errors).toEqual([]);
      expect(result.findings.map((f) => `${f.file}:${f.line}:${f.rule}`)).toEqual(reference.findings.map((f) => `rules/${f.file}:${f.line}:${f.rule}`));
      expect(result.findings.length).toBeGreaterThan(50);
    } finally {
      dir.remove();
    }
  });

  it("with two workers too, only the file over budget is lost", async () => {
    const dir = temporaryDirectory("budget-two");
    try {
      copyFixtureTree(dir.dir);
      const victim = "rules/STC101/function_views.py";
      const startBudget: BudgetTimer = (path, _ms, expire) => {
        if (path === victim) queueMicrotask(expire);
        return () => undefined;
      };
      const result = await scan({ paths: [dir.dir], jobs: 2, fileTimeoutMs: 20_000, testBudgetTimer: startBudget });
      expect(result.errors).toEqual([{ file: victim, message: expect.stringMatching(/took longer than the 20 s per-file time budget/) }]);
      const reference = await scan({ paths: [dir.dir], jobs: 2, exclude: [victim] });
      // The victim's own findings are gone; the project-wide ones of the other files may not
      // depend on it, so compare only those outside the victim, with the reference's own.
      expect(result.findings.some((f) => f.file === victim)).toBe(false);
      expect(result.findings.map((f) => `${f.file}:${f.line}:${f.rule}`)).toEqual(reference.findings.map((f) => `${f.file}:${f.line}:${f.rule}`));
    } finally {
      dir.remove();
    }
  });

  it("runs a budget out on the wall clock's timer, whatever the machine's speed (timers faked)", async () => {
    // The default timer is setTimeout: faked here, so the budget runs out exactly when the
    // test advances the clock, while the one worker holds the first file and those behind it.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const pool = new ExtractionPool({ size: 1, timeoutMs: 5000, extract: {} });
    try {
      const files = ["first.py", "second.py", "third.py", "fourth.py", "fifth.py"];
      const outcomes = files.map((path) => pool.extract(path, "def view(request):\n    return request.user\n"));
      while (vi.getTimerCount() === 0) await new Promise((resolve) => setImmediate(resolve));
      vi.advanceTimersByTime(4999);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(1);
      const [first, ...rest] = await Promise.all(outcomes);
      expect(first).toEqual({ ok: false, message: "skipped: reading this file took longer than the 5 s per-file time budget (--file-timeout)" });
      // The files sent to the terminated worker went to a new one: all read.
      expect(rest.map((o) => o.ok && o.facts.path)).toEqual(files.slice(1));
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
      await pool.close();
    }
  });

  it("reports a file over budget through scan() on the default timer (setTimeout faked)", async () => {
    const dir = temporaryDirectory("budget-faked");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      copyFixtureTree(dir.dir);
      writeFileSync(join(dir.dir, "a_victim.py"), readFileSync(join(FIXTURE_RULES, "STC102", "function_views.py"), "utf8"));
      const scanning = scan({ paths: [dir.dir], jobs: 1, fileTimeoutMs: 7000 });
      // One worker: one budget runs at a time, the first file's first.
      while (vi.getTimerCount() === 0) await new Promise((resolve) => setImmediate(resolve));
      vi.advanceTimersByTime(7000);
      const result = await scanning;
      expect(result.errors).toEqual([{ file: "a_victim.py", message: "skipped: reading this file took longer than the 7 s per-file time budget (--file-timeout)" }]);
      expect(result.findings.length).toBeGreaterThan(50);
      expect(result.findings.some((f) => f.file === "a_victim.py")).toBe(false);
    } finally {
      vi.useRealTimers();
      dir.remove();
    }
  });

  it("caps a budget at setTimeout's longest wait instead of letting it fire at once", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const expire = vi.fn();
      const cancel = startBudgetTimer("huge.py", 1e12, expire);
      vi.advanceTimersByTime(60_000);
      expect(expire).not.toHaveBeenCalled();
      vi.advanceTimersByTime(2 ** 31);
      expect(expire).toHaveBeenCalledTimes(1);
      const cancelled = vi.fn();
      startBudgetTimer("small.py", 10, cancelled)();
      vi.advanceTimersByTime(1000);
      expect(cancelled).not.toHaveBeenCalled();
      cancel();
    } finally {
      vi.useRealTimers();
    }
  });
});
