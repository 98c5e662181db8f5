/** The facts cache: a warm scan parses nothing, gives the same bytes, and never trusts a bad entry. */
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareCacheRoot } from "../src/cache/cacheRoot.js";
import { hashBuildFolders, keyedDigest } from "../src/cache/entryFile.js";
import { ResultCache, contentKey } from "../src/cache/resultCache.js";
import { main } from "../src/cli/main.js";
import { readSource } from "../src/discover/readSource.js";
import { formatEndpointsJson } from "../src/report/endpoints.js";
import { formatJson } from "../src/report/json.js";
import { formatText } from "../src/report/text.js";
import { scan, type ScanOptions } from "../src/run/scan.js";
import type { ScanResult } from "../src/core/result.js";
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

/** The facts packs under a cache directory. */
function packs(cacheDir: string): string[] {
  const layout = join(cacheDir, "facts-v3");
  return readdirSync(layout).flatMap((fingerprint) => readdirSync(join(layout, fingerprint)).map((name) => join(layout, fingerprint, name))).sort();
}

type IndexEntry = [string, string, string, number, number, string];

/** A pack's bodies and index, read through its footer line. */
function readPack(file: string): { bytes: Buffer; index: IndexEntry[] } {
  const bytes = readFileSync(file);
  const footer = /stalecheck-pack (\d+) (\d+) [0-9a-f]{64}\n$/.exec(bytes.subarray(-128).toString("latin1"))!;
  const index = JSON.parse(bytes.subarray(Number(footer[1]), Number(footer[1]) + Number(footer[2])).toString("utf8")) as IndexEntry[];
  return { bytes, index };
}

/** The key this test file's scans seal their entries with (test/setup.ts puts it in a directory of the file's own). */
const sealKey = () => Buffer.from(readFileSync(join(process.env.STALECHECK_KEY_DIR!, "cache-key"), "utf8").trim(), "hex");

/** Writes a pack holding these bodies into a fingerprint directory, sealed as stalecheck seals it with the user's key. */
function writePack(file: string, entries: { absolute: string; path: string; content: string; body: string }[]): void {
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  let offset = 0;
  const index = entries.map((e) => {
    const bytes = Buffer.byteLength(e.body);
    offset += bytes;
    return [e.absolute, e.path, e.content, offset - bytes, bytes, sha(e.body)];
  });
  const indexText = JSON.stringify(index);
  const length = Buffer.byteLength(indexText);
  const seal = keyedDigest(sealKey(), "facts-pack", basename(dirname(file)), String(offset), String(length), indexText);
  writeFileSync(file, `${entries.map((e) => e.body).join("")}${indexText}\nstalecheck-pack ${offset} ${length} ${seal}\n`);
}

describe("facts cache", () => {
  const cacheDir = join(work.dir, "cache");

  it("parses every file cold, none warm, and reports the same bytes as an uncached scan", async () => {
    const uncached = await run({});
    const cold = await run({ cacheDir });
    const warm = await run({ cacheDir });
    expect(cold.stats).toMatchObject({ parsed: files.length, cached: 0, cacheRejected: 0, cacheWriteError: null, analysisCached: false });
    expect(warm.stats).toMatchObject({ parsed: 0, cached: files.length, cacheRejected: 0, analysisCached: true });
    expect(cold.json).toBe(uncached.json);
    expect(warm.json).toBe(uncached.json);
    // One pack for the whole cold scan, indexing every file.
    const written = packs(cacheDir);
    expect(written).toHaveLength(1);
    expect(readPack(written[0]!).index.map((e) => e[1]).sort()).toEqual([...files].sort());
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
      expect(warm.stats).toMatchObject({ parsed: 1, cached: files.length - 1, analysisCached: false });
      expect(warm.json).toBe(fresh.json);
    } finally {
      writeFileSync(target, original);
    }
    // Edited back: the facts made for the original content are still in the older pack.
    const back = await run({ cacheDir });
    expect(back.stats).toMatchObject({ parsed: 0, cached: files.length });
  });

  it("ignores corrupt entries and damaged packs, re-extracts those files and repairs the cache", async () => {
    const reference = await run({});
    // The cold scan's pack, which holds every file (the tests above added smaller ones).
    const [pack] = packs(cacheDir).sort((a, b) => statSync(b).size - statSync(a).size);
    const { bytes, index } = readPack(pack!);
    const [flipped, wrongShape] = index;
    // A changed byte inside one body: still JSON, but the checksum no longer matches.
    const at = flipped![3] + bytes.subarray(flipped![3], flipped![3] + flipped![4]).indexOf('"line":') + '"line":'.length;
    bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31;
    writeFileSync(pack!, bytes);
    const fingerprintDir = join(pack!, "..");
    // A newer, well-formed pack whose entry has a sound checksum but is not facts.
    const newer = join(fingerprintDir, "newer.pack");
    writePack(newer, [{ absolute: wrongShape![0], path: wrongShape![1], content: wrongShape![2], body: JSON.stringify({ path: wrongShape![1], lines: "many" }) }]);
    const past = new Date(Date.now() - 5000);
    utimesSync(pack!, past, past);
    // A pack that is not one, and one cut short: both removed.
    writeFileSync(join(fingerprintDir, "garbage.pack"), "\u0000\u0001 not a pack at all");
    writeFileSync(join(fingerprintDir, "truncated.pack"), bytes.subarray(0, bytes.length >> 1));
    // Without this the tree's stored analysis would answer and no facts entry would be read.
    rmSync(join(cacheDir, "results-v2"), { recursive: true, force: true });

    const repaired = await run({ cacheDir });
    // The flipped file is extracted again; the entry that is not facts is passed over for the
    // sound one in the older pack.
    expect(repaired.stats).toMatchObject({ parsed: 1, cached: files.length - 1, cacheRejected: 4, cacheWriteError: null });
    expect(repaired.json).toBe(reference.json);
    expect(existsSync(join(fingerprintDir, "garbage.pack"))).toBe(false);
    expect(existsSync(join(fingerprintDir, "truncated.pack"))).toBe(false);
    rmSync(join(cacheDir, "results-v2"), { recursive: true, force: true });
    const again = await run({ cacheDir });
    expect(again.stats).toMatchObject({ parsed: 0, cached: files.length, cacheRejected: 0, analysisCached: false });
    expect(again.json).toBe(reference.json);
  });

  it("gathers the live entries into one pack when packs pile up, keeps the ones in use, and cleans up", async () => {
    const dir = temporaryDirectory("compaction");
    try {
      const a = join(dir.dir, "a.py");
      writeFileSync(a, "def view(request):\n    return 0\n");
      writeFileSync(join(dir.dir, "b.py"), "def other(request):\n    return 1\n");
      const packCache = join(dir.dir, ".cache");
      // A cache of an earlier version (tagged by it), with its older layouts: removed.
      for (const old of ["facts-v1", "facts-v2", "results-v1"]) mkdirSync(join(packCache, old, "ab"), { recursive: true });
      writeFileSync(join(packCache, "CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by stalecheck.\n");
      const scanned = () => scan({ paths: [dir.dir], jobs: 1, cacheDir: packCache });
      await scanned();
      expect(["facts-v1", "facts-v2", "results-v1"].filter((old) => existsSync(join(packCache, old)))).toEqual([]);
      const counts: number[] = [];
      for (let edit = 1; edit <= 20; edit++) {
        writeFileSync(a, `def view(request):\n    return ${edit}\n`);
        expect((await scanned()).extraction).toMatchObject({ parsed: 1, cached: 1 });
        counts.push(packs(packCache).length);
      }
      // Each edit adds a pack of one entry; past 16 they are gathered into one.
      expect(Math.max(...counts)).toBe(16);
      expect(counts[counts.length - 1]).toBeLessThan(16);
      // a.py edited back to an earlier content (stored after the packs were gathered): its
      // older entry is used, and is the one kept when they are gathered again as b.py changes.
      writeFileSync(a, "def view(request):\n    return 18\n");
      expect((await scanned()).extraction).toMatchObject({ parsed: 0, cached: 2 });
      for (let edit = 1; edit <= 20; edit++) {
        writeFileSync(join(dir.dir, "b.py"), `def other(request):\n    return ${100 + edit}\n`);
        expect((await scanned()).extraction).toMatchObject({ parsed: 1, cached: 1 });
      }
      rmSync(join(packCache, "results-v2"), { recursive: true, force: true });
      expect((await scanned()).extraction).toMatchObject({ parsed: 0, cached: 2, cacheRejected: 0 });
      // An unsealed pack left by a killed scan is removed once a day old; a recent one is not.
      const fingerprintDir = join(packs(packCache)[0]!, "..");
      const [orphan, recent] = [join(fingerprintDir, "killed.pack.tmp"), join(fingerprintDir, "running.pack.tmp")];
      writeFileSync(orphan, "half a pack");
      writeFileSync(recent, "half a pack");
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      utimesSync(orphan, twoDaysAgo, twoDaysAgo);
      rmSync(join(packCache, "results-v2"), { recursive: true, force: true });
      await scanned();
      expect([existsSync(orphan), existsSync(recent)]).toEqual([false, true]);
    } finally {
      dir.remove();
    }
  });

  it("keys entries by the extraction options too", async () => {
    const other = await run({ cacheDir, transactionNames: ["billing.db.locked_atomic"] });
    expect(other.stats).toMatchObject({ parsed: files.length, cached: 0 });
    const same = await run({ cacheDir, transactionNames: ["billing.db.locked_atomic"] });
    expect(same.stats).toMatchObject({ parsed: 0, cached: files.length });
    expect(readdirSync(join(cacheDir, "facts-v3"))).toHaveLength(2);
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

describe("result cache", () => {
  const cacheDir = join(work.dir, "results");
  const resultEntries = () => readdirSync(join(cacheDir, "results-v2")).filter((n) => n.endsWith(".json"));

  it("answers an unchanged tree without parsing or analysing, with the same text, JSON and endpoints", async () => {
    const cold = await run({ cacheDir });
    const warm = await run({ cacheDir });
    expect(cold.stats.analysisCached).toBe(false);
    expect(warm.stats).toMatchObject({ parsed: 0, analysisCached: true });
    expect(warm.json).toBe(cold.json);
    const text = (r: ScanResult) => formatText(r, { color: false }).replace(/in \d+(\.\d+)? ?m?s/g, "");
    expect(text(warm.result)).toBe(text(cold.result));
    expect(formatEndpointsJson(warm.result)).toBe(formatEndpointsJson(cold.result));
    expect(resultEntries()).toHaveLength(1);
  });

  it("misses when one file's content changes, and when it changes back", async () => {
    const target = join(tree, "rules", "STC101", "function_views.py");
    const original = readFileSync(target, "utf8");
    try {
      // Same size, same findings count: only the content key can tell.
      writeFileSync(target, original.replace(/request/, "requesT"));
      const edited = await run({ cacheDir });
      expect(edited.stats).toMatchObject({ parsed: 1, analysisCached: false });
      expect(edited.json).toBe((await run({})).json);
    } finally {
      writeFileSync(target, original);
    }
    // The stored analysis is the edited tree's: analysed again, from the facts cache.
    const restored = await run({ cacheDir });
    expect(restored.stats).toMatchObject({ parsed: 0, analysisCached: false });
    expect((await run({ cacheDir })).stats.analysisCached).toBe(true);
  });

  it("misses when a file is added, becomes unreadable, or goes", async () => {
    const extra = join(tree, "rules", "added_later.py");
    writeFileSync(extra, "def view(request):\n    return None\n");
    try {
      expect((await run({ cacheDir })).stats).toMatchObject({ parsed: 1, analysisCached: false });
      writeFileSync(extra, "\u0000binary");
      const unreadable = await run({ cacheDir });
      expect(unreadable.stats).toMatchObject({ parsed: 0, analysisCached: false });
      expect(unreadable.result.errors).toContainEqual({ file: "rules/added_later.py", message: expect.stringMatching(/binary file/) });
      const again = await run({ cacheDir });
      expect(again.stats.analysisCached).toBe(true);
      expect(again.json).toBe(unreadable.json);
    } finally {
      rmSync(extra, { force: true });
    }
    expect((await run({ cacheDir })).stats.analysisCached).toBe(false);
  });

  it("keys the analysis by the options that shape it, but not by the ones applied after it", async () => {
    const base = await run({ cacheDir });
    expect(base.stats.analysisCached).toBe(true);
    const helpers = await run({ cacheDir, checkHelpers: ["billing.auth.can_charge"] });
    expect(helpers.stats.analysisCached).toBe(false);
    const selected = await run({ cacheDir, select: ["STC101"] });
    expect(selected.stats.analysisCached).toBe(false);
    expect(selected.result.findings.every((f) => f.rule === "STC101")).toBe(true);
    const selectedAgain = await run({ cacheDir, select: ["STC101"] });
    expect(selectedAgain.stats.analysisCached).toBe(true);
    expect(selectedAgain.json).toBe(selected.json);
    // Per-file ignores narrow the stored analysis; they do not need a new one.
    const narrowed = await run({ cacheDir, perFileIgnores: { "rules/STC101/*.py": ["STC101"] } });
    expect(narrowed.stats.analysisCached).toBe(true);
    expect(narrowed.result.findings.some((f) => f.file.startsWith("rules/STC101/") && f.rule === "STC101")).toBe(false);
    expect(narrowed.result.findings.length).toBeLessThan(base.result.findings.length);
  });

  it("ignores a damaged or foreign entry and writes a sound one", async () => {
    const reference = await run({});
    // Start from one entry, the one for these options.
    rmSync(join(cacheDir, "results-v2"), { recursive: true, force: true });
    expect((await run({ cacheDir })).stats.analysisCached).toBe(false);
    const [name, ...others] = resultEntries();
    expect(others).toEqual([]);
    const entry = join(cacheDir, "results-v2", name!);
    const original = readFileSync(entry, "utf8");
    const [header, body] = [original.slice(0, original.indexOf("\n")), original.slice(original.indexOf("\n") + 1)];
    // One changed finding line: still JSON, but the body no longer matches its checksum.
    writeFileSync(entry, `${header}\n${body.replace(/"line":(\d+)/, (_, d: string) => `"line":${Number(d) + 1}`)}`);
    const damaged = await run({ cacheDir });
    expect(damaged.stats.analysisCached).toBe(false);
    expect(damaged.json).toBe(reference.json);
    writeFileSync(entry, "not an entry");
    expect((await run({ cacheDir })).stats.analysisCached).toBe(false);
    const healed = await run({ cacheDir });
    expect(healed.stats.analysisCached).toBe(true);
    expect(healed.json).toBe(reference.json);
  });

  it("does not keep an analysis in which a file ran out of its time budget", async () => {
    const dir = temporaryDirectory("budget-cache");
    try {
      writeFileSync(join(dir.dir, "a_generated.py"), "def allowed(u):\n    return u.is_staff\n");
      writeFileSync(join(dir.dir, "b_views.py"), "def view(request):\n    return request.user\n");
      const budgetCache = join(dir.dir, ".cache");
      // The test is the clock: a_generated.py's budget runs out as soon as its worker reaches it.
      const expireFirst = (path: string, _ms: number, expire: () => void) => {
        if (path === "a_generated.py") queueMicrotask(expire);
        return () => undefined;
      };
      const first = await scan({ paths: [dir.dir], jobs: 1, fileTimeoutMs: 1000, cacheDir: budgetCache, testBudgetTimer: expireFirst });
      expect(first.errors).toEqual([{ file: "a_generated.py", message: expect.stringMatching(/per-file time budget/) }]);
      expect(existsSync(join(budgetCache, "results-v2"))).toBe(false);
      expect(existsSync(join(budgetCache, "facts-v3"))).toBe(true);
      // Without the lost file the analysis is kept.
      const second = await scan({ paths: [dir.dir], jobs: 1, cacheDir: budgetCache });
      expect(second.errors).toEqual([]);
      expect(existsSync(join(budgetCache, "results-v2"))).toBe(true);
    } finally {
      dir.remove();
    }
  });
});

describe("result cache: trusting a file's stat", () => {
  const analysis = { findings: [], fileErrors: [], endpoints: [], settingsFiles: [], functions: 1 };
  const setup = () => {
    const dir = temporaryDirectory("stat-trust");
    const absolute = join(dir.dir, "views.py");
    writeFileSync(absolute, "def view(request):\n    return 1\n");
    const files = [{ absolute, path: "views.py" }];
    const read = () => readSource(absolute, 1 << 20);
    const root = join(dir.dir, ".cache");
    prepareCacheRoot(root);
    return { dir, absolute, files, read, root, secret: randomBytes(32) };
  };

  it("skips re-hashing a file whose size, times and inode are unchanged since before the scan", () => {
    const { dir, files, read, root, secret } = setup();
    try {
      // No racy window here: the file counts as settled at once. A forged content key shows
      // whether the lookup re-hashed the file (it would then miss) or trusted its stat.
      const cache = new ResultCache(root, secret, "scope", 0);
      expect(cache.store(files, Date.now() + 1, ["forged"], [read().identity], analysis)).toBeNull();
      expect(cache.lookup(files, 1 << 20)).toEqual(analysis);
    } finally {
      dir.remove();
    }
  });

  it("re-hashes a file changed near the start of the scan, and one whose stat changed", () => {
    const { dir, absolute, files, read, root, secret } = setup();
    try {
      // A racy window of an hour, not the default's 3 s: the file was written "near the start"
      // however slowly this test runs.
      const racy = new ResultCache(root, secret, "scope", 3_600_000);
      const key = contentKey(read());
      expect(racy.store(files, Date.now(), ["forged"], [read().identity], analysis)).toBeNull();
      // Changed within the racy window before the scan start: the stat is not trusted, the forged key misses.
      expect(racy.lookup(files, 1 << 20)).toBeNull();
      expect(racy.store(files, Date.now(), [key], [read().identity], analysis)).toBeNull();
      expect(racy.lookup(files, 1 << 20)).toEqual(analysis);

      const settled = new ResultCache(root, secret, "other scope", 0);
      expect(settled.store(files, Date.now() + 1, [key], [read().identity], analysis)).toBeNull();
      // Same size, and the modification time put back: the change time still moves, so the
      // file is hashed again and the new content misses.
      const { mtime } = statSync(absolute);
      writeFileSync(absolute, readFileSync(absolute, "utf8").replace("return 1", "return 2"));
      utimesSync(absolute, mtime, mtime);
      expect(settled.lookup(files, 1 << 20)).toBeNull();
      // Touched but not changed: hashed again, and the content still matches.
      writeFileSync(absolute, readFileSync(absolute, "utf8").replace("return 2", "return 1"));
      expect(settled.lookup(files, 1 << 20)).toEqual(analysis);
    } finally {
      dir.remove();
    }
  });
});

describe("the CLI's cache options", () => {
  const io = (cwd: string) => {
    const out: string[] = [];
    const err: string[] = [];
    const env = { STALECHECK_KEY_DIR: process.env.STALECHECK_KEY_DIR };
    return { out, err, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), cwd, env, stdoutIsTTY: false } };
  };

  it("caches in .stalecheck-cache at the project root by default, and not at all with --no-cache", async () => {
    const cwd = join(work.dir, "cli-default");
    copyFixtureTree(cwd);
    // No configuration and no .git: the project is the scanned directory.
    const none = io(cwd);
    expect(await main(["check", "--no-cache", "--format", "json", "rules"], none.io)).toBe(1);
    expect(existsSync(join(cwd, "rules", ".stalecheck-cache"))).toBe(false);
    const first = io(cwd);
    expect(await main(["check", "--format", "json", "rules"], first.io)).toBe(1);
    expect(statSync(join(cwd, "rules", ".stalecheck-cache", "facts-v3")).isDirectory()).toBe(true);
    expect(existsSync(join(cwd, ".stalecheck-cache"))).toBe(false);
    expect(first.err.join("")).toBe("");
    const second = io(cwd);
    expect(await main(["check", "--format", "json", "rules"], second.io)).toBe(1);
    expect(stable(second.out.join(""))).toBe(stable(first.out.join("")));
    expect(stable(none.out.join(""))).toBe(stable(first.out.join("")));
  });

  it("puts the default cache where the configuration or .git is, whatever the working directory", async () => {
    for (const [name, marker] of [["git", ".git/HEAD"], ["config", "stalecheck.toml"]] as const) {
      const project = join(work.dir, `project-${name}`);
      copyFixtureTree(join(project, "src"));
      mkdirSync(dirname(join(project, marker)), { recursive: true });
      writeFileSync(join(project, marker), marker === ".git/HEAD" ? "ref: refs/heads/main\n" : "fail-on = \"low\"\n");
      const elsewhere = join(work.dir, `elsewhere-${name}`);
      mkdirSync(elsewhere, { recursive: true });
      const run = io(elsewhere);
      expect(await main(["check", "--format", "json", join(project, "src", "rules")], run.io)).toBe(1);
      expect(run.err.join("")).toBe("");
      expect(existsSync(join(project, ".stalecheck-cache", "CACHEDIR.TAG"))).toBe(true);
      expect(readdirSync(elsewhere)).toEqual([]);
      expect(existsSync(join(project, "src", "rules", ".stalecheck-cache"))).toBe(false);
    }
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

describe("the extractor's fingerprint", () => {
  it("covers the extractor's subfolders, so a change to the function walker is never served stale facts", () => {
    const hashed: string[] = [];
    const recorder = { update(value: unknown) { if (typeof value === "string") hashed.push(value.trim()); return recorder; } };
    hashBuildFolders(recorder as unknown as ReturnType<typeof createHash>, ["extract"]);
    expect(hashed.some((name) => /^extract\/function\/statements\.(js|ts)$/.test(name))).toBe(true);
    expect(hashed.some((name) => /^extract\/moduleFacts\.(js|ts)$/.test(name))).toBe(true);
  });
});
