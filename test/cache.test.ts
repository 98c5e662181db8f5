/** The facts cache: a warm scan parses nothing, gives the same bytes, and never trusts a bad entry. */
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { formatJson } from "../src/report/json.js";
import { scan, type ScanOptions } from "../src/scan.js";
import { copyFixtureTree, pythonFiles, temporaryDirectory } from "./helpers/trees.js";

const work = temporaryDirectory("cache");
afterAll(() => work.remove());
const tree = join(work.dir, "tree");
copyFixtureTree(tree);
const files = pythonFiles(tree);

const stable = (json: string) => json.replace(/"durationMs": \d+/, '"durationMs": 0');
const run = async (options: ScanOptions) => {
  const result = await scan({ paths: [tree], jobs: 2, ...options });
  return { result, json: stable(formatJson(result)), stats: result.extraction! };
};

/** Every cache entry file under a cache directory. */
function entries(cacheDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".json")) out.push(path);
    }
  };
  walk(join(cacheDir, "facts-v1"));
  return out.sort();
}

describe("facts cache", () => {
  const cacheDir = join(work.dir, "cache");

  it("parses every file cold, none warm, and reports the same bytes as an uncached scan", async () => {
    const uncached = await run({});
    const cold = await run({ cacheDir });
    const warm = await run({ cacheDir });
    expect(cold.stats).toMatchObject({ parsed: files.length, cached: 0, cacheRejected: 0, cacheWriteError: null });
    expect(warm.stats).toMatchObject({ parsed: 0, cached: files.length, cacheRejected: 0 });
    expect(cold.json).toBe(uncached.json);
    expect(warm.json).toBe(uncached.json);
    expect(entries(cacheDir)).toHaveLength(files.length);
    expect(readFileSync(join(cacheDir, "CACHEDIR.TAG"), "utf8")).toMatch(/^Signature: 8a477f597d28d172789f06886806bc55/);
    expect(readFileSync(join(cacheDir, ".gitignore"), "utf8")).toContain("*");
  });

  it("re-parses only the file that changed, and its new facts are used", async () => {
    const target = join(tree, "rules", "STC102", "function_views.py");
    const original = readFileSync(target, "utf8");
    try {
      writeFileSync(target, original.replace(/^/, "# an edit that shifts every line\n"));
      const warm = await run({ cacheDir });
      const fresh = await run({});
      expect(warm.stats).toMatchObject({ parsed: 1, cached: files.length - 1 });
      expect(warm.json).toBe(fresh.json);
    } finally {
      writeFileSync(target, original);
    }
    const back = await run({ cacheDir });
    expect(back.stats).toMatchObject({ parsed: 1, cached: files.length - 1 });
  });

  it("ignores corrupt, truncated, forged and misplaced entries, re-extracts those files and repairs the entries", async () => {
    const reference = await run({});
    const all = entries(cacheDir);
    const [truncated, flipped, garbage, wrongShape, swappedA, swappedB] = all;
    const text = (path: string) => readFileSync(path, "utf8");
    writeFileSync(truncated!, text(truncated!).slice(0, Math.floor(text(truncated!).length / 2)));
    // A changed byte inside the body: still valid JSON, but the checksum no longer matches.
    writeFileSync(flipped!, text(flipped!).replace(/"line":(\d)/, (_, d: string) => `"line":${(Number(d) + 1) % 10}`));
    writeFileSync(garbage!, "\u0000\u0001 not an entry at all");
    // A well-formed entry whose checksum matches but whose body is not facts.
    const header = JSON.parse(text(wrongShape!).split("\n")[0]!) as { content: string; path: string };
    const body = JSON.stringify({ path: header.path, lines: "many" });
    const { createHash } = await import("node:crypto");
    writeFileSync(wrongShape!, `${JSON.stringify({ ...header, body: createHash("sha256").update(body).digest("hex") })}\n${body}`);
    // Two sound entries swapped between files: made for other content and another path.
    const [a, b] = [text(swappedA!), text(swappedB!)];
    writeFileSync(swappedA!, b);
    writeFileSync(swappedB!, a);

    const repaired = await run({ cacheDir });
    expect(repaired.stats.parsed).toBe(6);
    expect(repaired.stats.cached).toBe(files.length - 6);
    expect(repaired.stats.cacheRejected).toBe(4);
    expect(repaired.json).toBe(reference.json);
    const again = await run({ cacheDir });
    expect(again.stats).toMatchObject({ parsed: 0, cached: files.length, cacheRejected: 0 });
    expect(again.json).toBe(reference.json);
  });

  it("keys entries by the extraction options too", async () => {
    const other = await run({ cacheDir, transactionNames: ["billing.db.locked_atomic"] });
    expect(other.stats).toMatchObject({ parsed: files.length, cached: 0 });
    const same = await run({ cacheDir, transactionNames: ["billing.db.locked_atomic"] });
    expect(same.stats).toMatchObject({ parsed: 0, cached: files.length });
    expect(readdirSync(join(cacheDir, "facts-v1"))).toHaveLength(2);
  });

  it("scans normally and says why when the cache cannot be written", async () => {
    const blocker = join(work.dir, "a-file");
    writeFileSync(blocker, "not a directory");
    const reference = await run({});
    const result = await run({ cacheDir: join(blocker, "cache") });
    expect(result.stats.cacheWriteError).toMatch(/ENOTDIR|EEXIST/);
    expect(result.stats.parsed).toBe(files.length);
    expect(result.json).toBe(reference.json);
  });
});

describe("the CLI's cache options", () => {
  const io = (cwd: string) => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), cwd, env: {}, stdoutIsTTY: false } };
  };

  it("caches in .stalecheck-cache under the working directory by default, and not at all with --no-cache", async () => {
    const cwd = join(work.dir, "cli-default");
    copyFixtureTree(cwd);
    const none = io(cwd);
    expect(await main(["check", "--no-cache", "--format", "json", "rules"], none.io)).toBe(1);
    expect(existsSync(join(cwd, ".stalecheck-cache"))).toBe(false);
    const first = io(cwd);
    expect(await main(["check", "--format", "json", "rules"], first.io)).toBe(1);
    expect(statSync(join(cwd, ".stalecheck-cache", "facts-v1")).isDirectory()).toBe(true);
    const second = io(cwd);
    expect(await main(["check", "--format", "json", "rules"], second.io)).toBe(1);
    expect(stable(second.out.join(""))).toBe(stable(first.out.join("")));
    expect(stable(none.out.join(""))).toBe(stable(first.out.join("")));
  });

  it("honours --cache-dir, and warns on stderr when the cache cannot be written", async () => {
    const cwd = join(work.dir, "cli-dir");
    copyFixtureTree(cwd);
    const moved = io(cwd);
    expect(await main(["check", "--cache-dir", "elsewhere/cache", "--format", "json", "rules"], moved.io)).toBe(1);
    expect(existsSync(join(cwd, "elsewhere", "cache", "CACHEDIR.TAG"))).toBe(true);
    appendFileSync(join(cwd, "blocker"), "x");
    const blocked = io(cwd);
    expect(await main(["check", "--cache-dir", "blocker/cache", "--format", "json", "rules"], blocked.io)).toBe(1);
    expect(blocked.err.join("")).toMatch(/warning: could not write the facts cache/);
    expect(stable(blocked.out.join(""))).toBe(stable(moved.out.join("")));
  });

  it("rejects --cache-dir together with --no-cache, and a bad --jobs or --file-timeout", async () => {
    for (const argv of [["--cache-dir", "x", "--no-cache", "."], ["--jobs", "0", "."], ["-j", "1.5", "."], ["--file-timeout", "-1", "."]]) {
      const bad = io(work.dir);
      expect(await main(argv, bad.io)).toBe(2);
      expect(bad.err.join("")).toMatch(/--cache-dir and --no-cache|--jobs must be|--file-timeout must be/);
    }
  });
});
