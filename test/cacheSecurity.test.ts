/**
 * The caches when the scanned repository is hostile (DESIGN §5): nothing a repository holds
 * (symbolic links, a committed cache, special files) may make a scan delete, write or run
 * anything outside its cache, or change what it reports; and a cache directory that would hide
 * the project's sources is refused.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chownSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cacheKeyDirectory } from "../src/cache/cacheKey.js";
import { type CliIO, main } from "../src/cli/main.js";
import { formatJson } from "../src/report/json.js";
import { scan } from "../src/run/scan.js";
import { FIXTURE_RULES, temporaryDirectory } from "./helpers/trees.js";

const work = temporaryDirectory("cache-security");
afterAll(() => work.remove());
let made = 0;

const TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by stalecheck.\n";
const bin = join(import.meta.dirname, "..", "bin", "stalecheck.js");
const posix = process.platform !== "win32";

/** A fresh directory holding a small project with findings (two rules' fixtures) under `app/`. */
function project(): string {
  const dir = join(work.dir, `project-${++made}`);
  for (const rule of ["STC101", "STC102"]) cpSync(join(FIXTURE_RULES, rule), join(dir, "app", rule.toLowerCase()), { recursive: true });
  return dir;
}

/** A directory outside the project with sibling folders and files, as a repository's parent has. */
function outsideTree(): string {
  const dir = join(work.dir, `outside-${++made}`);
  for (let i = 0; i < 8; i++) {
    mkdirSync(join(dir, `sibling-${i}`), { recursive: true });
    writeFileSync(join(dir, `sibling-${i}`, "keep.txt"), `sibling ${i}\n`);
    writeFileSync(join(dir, `entry-${i}.json`), "{}\n");
    writeFileSync(join(dir, `pack-${i}.pack`), "not a pack\n");
    writeFileSync(join(dir, `orphan-${i}.pack.tmp`), "half a pack\n");
    const past = new Date(Date.now() - (3 + i) * 24 * 3600 * 1000);
    utimesSync(join(dir, `sibling-${i}`), past, past);
    utimesSync(join(dir, `orphan-${i}.pack.tmp`), past, past);
  }
  return dir;
}

/** Every path under `dir` with its type, size and modification time, without following links. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const name of readdirSync(sub).sort()) {
      const path = join(sub, name);
      const stat = lstatSync(path);
      const type = stat.isSymbolicLink() ? `link->${readlinkSync(path)}` : stat.isDirectory() ? "dir" : stat.isFile() ? "file" : "special";
      out.push(`${relative(dir, path)} ${type} ${stat.isDirectory() ? "" : stat.size} ${stat.mtimeMs}`);
      if (type === "dir") walk(path);
    }
  };
  walk(dir);
  return out;
}

const stable = (json: string) => json.replace(/"durationMs": \d+/, '"durationMs": 0');

/** The CLI in-process, with the test run's key directory (see test/setup.ts). */
async function cli(argv: string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = {
    stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd,
    env: { NO_COLOR: "1", STALECHECK_KEY_DIR: process.env.STALECHECK_KEY_DIR, ...env }, stdoutIsTTY: false,
  };
  const code = await main(argv, io);
  return { code, stdout: stable(stdout), stderr };
}

/** The built CLI as a child process, killed after 30 s: a hang fails the test instead of the suite. */
function child(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const run = execFile(process.execPath, [bin, ...argv], { cwd, encoding: "utf8", timeout: 30_000, env: { ...process.env, NO_COLOR: "1", ...env } },
      (_error, stdout, stderr) => done({ code: run.exitCode, signal: run.signalCode, stdout: stable(stdout), stderr }));
  });
}

const JSON_ARGS = ["check", "--format", "json", "--jobs", "1", "--no-progress"];

/** The report of an uncached scan of `dir`: what every cached scan must print. */
async function reference(dir: string): Promise<{ code: number; stdout: string }> {
  const run = await cli([...JSON_ARGS, "--no-cache", "."], dir);
  expect(run.code).toBe(1);
  return run;
}

/** A committed `.stalecheck-cache` as an attacker would write it: with stalecheck's tag. */
function committedCache(dir: string): string {
  const cache = join(dir, ".stalecheck-cache");
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(cache, "CACHEDIR.TAG"), TAG);
  writeFileSync(join(cache, ".gitignore"), "*\n");
  return cache;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The layout directories (`facts-v…`, `results-v…`) a real scan of `dir` writes, in a scratch cache. */
async function genuineCache(dir: string): Promise<string> {
  const scratch = join(work.dir, `scratch-${++made}`);
  const run = await cli([...JSON_ARGS, "--cache-dir", scratch, "."], dir);
  expect(run.code).toBe(1);
  return scratch;
}

const layouts = (cache: string, prefix: string) => readdirSync(cache).filter((n) => n.startsWith(prefix));

describe("symbolic links in the cache never act outside it", () => {
  it("a cache root that is a symbolic link: the default is passed over with a warning, a named one is refused", async () => {
    const dir = project();
    const outside = outsideTree();
    const before = snapshot(outside);
    const expected = await reference(dir);
    symlinkSync(outside, join(dir, ".stalecheck-cache"));
    const byDefault = await cli([...JSON_ARGS, "."], dir);
    expect(byDefault.code).toBe(1);
    expect(byDefault.stdout).toBe(expected.stdout);
    expect(byDefault.stderr).toMatch(/warning: .*symbolic link/);
    const named = await cli([...JSON_ARGS, "--cache-dir", ".stalecheck-cache", "."], dir);
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/symbolic link/);
    expect(snapshot(outside)).toEqual(before);
  });

  it("symbolic links for layout, old-layout and fingerprint directories: nothing outside is deleted or written", async () => {
    const dir = project();
    const expected = await reference(dir);
    const scratch = await genuineCache(dir);
    const fingerprint = readdirSync(join(scratch, layouts(scratch, "facts-v")[0]!))[0]!;
    const cache = committedCache(dir);
    const outsides: string[] = [];
    const link = (path: string) => {
      const outside = outsideTree();
      outsides.push(outside);
      mkdirSync(join(path, ".."), { recursive: true });
      symlinkSync(outside, path);
    };
    for (const layout of ["facts-v1", "facts-v2", "facts-v3", "results-v1", "results-v2"]) link(join(cache, layout));
    const before = outsides.map(snapshot);
    const run = await cli([...JSON_ARGS, "."], dir);
    expect(run.stdout).toBe(expected.stdout);
    expect(run.code).toBe(1);
    expect(outsides.map(snapshot)).toEqual(before);

    // Real layout directories, but the fingerprint directory the scan uses is a link.
    for (const layout of ["facts-v1", "facts-v2", "facts-v3", "results-v1", "results-v2"]) rmSync(join(cache, layout));
    outsides.length = 0;
    for (const layout of ["facts-v2", "facts-v3"]) {
      link(join(cache, layout, fingerprint));
      // Older fingerprints to prune, one of them a link too.
      for (let i = 0; i < 5; i++) link(join(cache, layout, `old-fingerprint-${i}`));
    }
    const beforeFingerprints = outsides.map(snapshot);
    const again = await cli([...JSON_ARGS, "."], dir);
    expect(again.stdout).toBe(expected.stdout);
    expect(outsides.map(snapshot)).toEqual(beforeFingerprints);
  });

  it("a link named like a pack, an orphan or a result entry is never followed, read through or deleted", async () => {
    const dir = project();
    const expected = await reference(dir);
    const scratch = await genuineCache(dir);
    const cache = committedCache(dir);
    cpSync(scratch, cache, { recursive: true, force: true });
    const outside = outsideTree();
    const before = snapshot(outside);
    for (const layout of layouts(cache, "facts-v")) {
      for (const fingerprint of readdirSync(join(cache, layout))) {
        symlinkSync(join(outside, "pack-0.pack"), join(cache, layout, fingerprint, "linked.pack"));
        symlinkSync(join(outside, "orphan-0.pack.tmp"), join(cache, layout, fingerprint, "linked.pack.tmp"));
      }
    }
    for (const layout of layouts(cache, "results-v")) {
      for (let i = 0; i < 10; i++) symlinkSync(join(outside, `entry-${i % 8}.json`), join(cache, layout, `linked-${i}.json`));
    }
    rmSync(join(cache, layouts(cache, "results-v")[0]!, readdirSync(join(cache, layouts(cache, "results-v")[0]!)).find((n) => !n.startsWith("linked"))!));
    const run = await cli([...JSON_ARGS, "."], dir);
    expect(run.stdout).toBe(expected.stdout);
    expect(snapshot(outside)).toEqual(before);
  });

  it("dangling CACHEDIR.TAG or .gitignore links in an existing cache: nothing is created where they point", async () => {
    for (const marker of ["CACHEDIR.TAG", ".gitignore"]) {
      for (const named of [true, false]) {
        const dir = project();
        const expected = await reference(dir);
        // A shared cache directory someone else could write into, or one committed to the project.
        const cache = named ? join(work.dir, `shared-${++made}`) : join(dir, ".stalecheck-cache");
        mkdirSync(join(cache, "facts-v3"), { recursive: true });
        const target = join(work.dir, `planted-${++made}`);
        if (marker === ".gitignore") writeFileSync(join(cache, "CACHEDIR.TAG"), TAG);
        else writeFileSync(join(cache, ".gitignore"), "*\n");
        symlinkSync(target, join(cache, marker));
        const run = await cli([...JSON_ARGS, ...(named ? ["--cache-dir", cache] : []), "."], dir);
        expect(existsSync(target)).toBe(false);
        expect(run.stderr).toContain(`${join(cache, marker)} is not a regular file`);
        expect(run.code).toBe(named ? 2 : 1);
        expect(run.stdout).toBe(named ? "" : expected.stdout);
      }
    }
  });

  it.skipIf(!posix || process.getuid?.() !== 0)("a cache root owned by another user is refused", async () => {
    const dir = project();
    const cache = join(work.dir, `foreign-owner-${++made}`);
    mkdirSync(cache);
    writeFileSync(join(cache, "CACHEDIR.TAG"), TAG);
    chownSync(cache, 4242, 4242);
    const run = await cli([...JSON_ARGS, "--cache-dir", cache, "."], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not owned by/);
    expect(readdirSync(cache)).toEqual(["CACHEDIR.TAG"]);
  });
});

describe("a committed cache cannot change the findings", () => {
  it("a result entry forged with the unkeyed checksum, in the old and in the current layout, is not trusted", async () => {
    const dir = project();
    const expected = await reference(dir);
    const scratch = await genuineCache(dir);
    const [layout] = layouts(scratch, "results-v");
    const [name] = readdirSync(join(scratch, layout!)).filter((n) => n.endsWith(".json"));
    const genuine = readFileSync(join(scratch, layout!, name!), "utf8");
    const entry = JSON.parse(genuine.slice(genuine.indexOf("\n") + 1)) as { analysis: Record<string, unknown> };
    // The same files, identities and start time, and nothing found in them.
    entry.analysis = { findings: [], fileErrors: [], endpoints: [], settingsFiles: [], functions: 0 };
    const body = JSON.stringify(entry);
    const forged = `${JSON.stringify({ key: name!.slice(0, -".json".length), body: sha256(body) })}\n${body}`;
    const cache = committedCache(dir);
    for (const old of ["results-v1", "results-v2"]) {
      mkdirSync(join(cache, old));
      writeFileSync(join(cache, old, name!), forged);
    }
    const run = await cli([...JSON_ARGS, "."], dir);
    expect(run.stdout).toBe(expected.stdout);
    expect(run.code).toBe(1);
  });

  it("a facts pack forged with unkeyed checksums, in the old and in the current layout, is not trusted", async () => {
    const dir = project();
    const expected = await reference(dir);
    const scratch = await genuineCache(dir);
    const [layout] = layouts(scratch, "facts-v");
    const [fingerprint] = readdirSync(join(scratch, layout!));
    const [packName] = readdirSync(join(scratch, layout!, fingerprint!));
    const bytes = readFileSync(join(scratch, layout!, fingerprint!, packName!));
    const footer = /stalecheck-pack (\d+) (\d+) [0-9a-f]{64}\n$/.exec(bytes.subarray(-128).toString("latin1"))!;
    type IndexEntry = [string, string, string, number, number, string];
    const index = JSON.parse(bytes.subarray(Number(footer[1]), Number(footer[1]) + Number(footer[2])).toString("utf8")) as IndexEntry[];
    // Each file's facts emptied of functions and classes: nothing left to report.
    let offset = 0;
    const bodies: string[] = [];
    const forgedIndex = index.map(([absolute, path, content, at, length]) => {
      const facts = JSON.parse(bytes.subarray(at, at + length).toString("utf8")) as Record<string, unknown>;
      const body = JSON.stringify({ ...facts, functions: [], classes: [] });
      bodies.push(body);
      offset += Buffer.byteLength(body);
      return [absolute, path, content, offset - Buffer.byteLength(body), Buffer.byteLength(body), sha256(body)];
    });
    const indexText = JSON.stringify(forgedIndex);
    const pack = `${bodies.join("")}${indexText}\nstalecheck-pack ${offset} ${Buffer.byteLength(indexText)} ${sha256(indexText)}\n`;
    const cache = committedCache(dir);
    for (const old of ["facts-v2", "facts-v3"]) {
      mkdirSync(join(cache, old, fingerprint!), { recursive: true });
      writeFileSync(join(cache, old, fingerprint!, "forged.pack"), pack);
    }
    const run = await cli([...JSON_ARGS, "."], dir);
    expect(run.stdout).toBe(expected.stdout);
    expect(run.code).toBe(1);
  });
});

describe("where the cache may live", () => {
  const noGitignore = (dir: string) => {
    const found: string[] = [];
    const walk = (sub: string) => {
      for (const entry of readdirSync(sub, { withFileTypes: true })) {
        if (entry.name === ".gitignore" || entry.name === "CACHEDIR.TAG") found.push(relative(dir, join(sub, entry.name)));
        if (entry.isDirectory()) walk(join(sub, entry.name));
      }
    };
    walk(dir);
    return found;
  };

  it("refuses an empty --cache-dir, the project itself, a folder above it, and a source folder, writing nothing", async () => {
    const dir = project();
    const expected = await reference(dir);
    for (const [cacheDir, message] of [
      ["", /empty/],
      [".", /is the scanned|contains the scanned/],
      ["..", /contains the scanned/],
      ["app", /not a stalecheck cache directory/],
      ["app/stc101", /not a stalecheck cache directory/],
    ] as const) {
      const run = await cli([...JSON_ARGS, "--cache-dir", cacheDir, "."], dir);
      expect(run.code, `--cache-dir "${cacheDir}"`).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe("");
      expect(noGitignore(dir)).toEqual([]);
      expect(readdirSync(join(dir, "..")).filter((n) => n === ".gitignore" || n === "CACHEDIR.TAG" || n.startsWith("facts-"))).toEqual([]);
    }
    // Refused as well when the folder is named as a path to scan, and the project is unharmed.
    const named = await cli([...JSON_ARGS, "--cache-dir", "app", "app"], dir);
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/is the scanned path/);
    expect((await cli([...JSON_ARGS, "--no-cache", "."], dir)).stdout).toBe(expected.stdout);
  });

  it("refuses a source folder an earlier version made a cache of (its markers hide the sources)", async () => {
    const dir = project();
    const expected = await reference(dir);
    const sources = join(dir, "app", "stc102");
    writeFileSync(join(sources, "CACHEDIR.TAG"), TAG);
    writeFileSync(join(sources, ".gitignore"), "# Created by stalecheck: this directory is a cache.\n*\n");
    const before = snapshot(dir);
    const run = await cli([...JSON_ARGS, "--cache-dir", "app/stc102", "."], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/app\/stc102 holds Python sources that would not be scanned \(app\/stc102\/\w+\.py, and \d+ more\)/);
    expect(snapshot(dir)).toEqual(before);
    // The sources its .gitignore hides are not scanned, with or without a cache, until it goes.
    expect((await cli([...JSON_ARGS, "--no-cache", "."], dir)).stdout).not.toBe(expected.stdout);
  });

  it("refuses an existing directory that is not a stalecheck cache, and leaves it as it was", async () => {
    const dir = project();
    const foreign = join(work.dir, `foreign-${++made}`);
    mkdirSync(join(foreign, "photos"), { recursive: true });
    writeFileSync(join(foreign, "notes.txt"), "mine\n");
    const before = snapshot(foreign);
    const run = await cli([...JSON_ARGS, "--cache-dir", foreign, "."], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${foreign} exists and is not a stalecheck cache directory`);
    expect(snapshot(foreign)).toEqual(before);
    // An empty directory (made ready by a CI script) is taken.
    const empty = join(work.dir, `empty-${++made}`);
    mkdirSync(empty);
    expect((await cli([...JSON_ARGS, "--cache-dir", empty, "."], dir)).code).toBe(1);
    expect(readFileSync(join(empty, "CACHEDIR.TAG"), "utf8")).toBe(TAG);
  });

  it("scans Python files committed inside the default cache directory instead of hiding them", async () => {
    const dir = project();
    const cache = committedCache(dir);
    rmSync(join(cache, ".gitignore"));
    cpSync(join(FIXTURE_RULES, "STC102"), join(cache, "hidden"), { recursive: true });
    const expected = await cli([...JSON_ARGS, "--no-cache", "."], dir);
    const run = await cli([...JSON_ARGS, "."], dir);
    expect(run.stdout).toBe(expected.stdout);
    expect(run.stdout).toContain(".stalecheck-cache/hidden/");
    expect(run.stderr).toMatch(/warning: .*Python source/);
  });

  it("never scans the cache directory itself, wherever it is inside the tree", async () => {
    const dir = project();
    const expected = await reference(dir);
    for (let i = 0; i < 2; i++) {
      const run = await cli([...JSON_ARGS, "--cache-dir", "tools/cache", "."], dir);
      expect(run.stdout).toBe(expected.stdout);
    }
    expect(existsSync(join(dir, "tools", "cache", "CACHEDIR.TAG"))).toBe(true);
  });
});

describe.skipIf(!posix)("special files in the cache", () => {
  it("a FIFO named like a pack, a result entry or a marker does not hang the scan", async () => {
    const dir = project();
    const expected = await reference(dir);
    // The built CLI's own layout and entry names, from a real scan with it.
    const scratch = join(work.dir, `child-scratch-${++made}`);
    const first = await child([...JSON_ARGS, "--cache-dir", scratch, "."], dir);
    expect(first.code).toBe(1);
    const cache = committedCache(dir);
    cpSync(scratch, cache, { recursive: true, force: true });
    for (const layout of layouts(cache, "facts-v")) {
      for (const fingerprint of readdirSync(join(cache, layout))) execFileSync("mkfifo", [join(cache, layout, fingerprint, "fifo.pack")]);
    }
    for (const layout of layouts(cache, "results-v")) {
      for (const name of readdirSync(join(cache, layout))) {
        rmSync(join(cache, layout, name));
        execFileSync("mkfifo", [join(cache, layout, name)]);
      }
    }
    const run = await child([...JSON_ARGS, "."], dir);
    expect(run.signal).toBeNull();
    expect(run.stdout).toBe(expected.stdout);
    expect(run.code).toBe(1);
    // A FIFO as the cache's tag: the directory is not taken for a cache, and nothing hangs.
    rmSync(join(cache, "CACHEDIR.TAG"));
    execFileSync("mkfifo", [join(cache, "CACHEDIR.TAG")]);
    const tagged = await child([...JSON_ARGS, "."], dir);
    expect(tagged.signal).toBeNull();
    expect(tagged.stdout).toBe(expected.stdout);
  }, 90_000);

  it("refuses a cache directory under /proc, /sys or /dev at once", async () => {
    const dir = project();
    for (const cacheDir of ["/proc/self/x", "/sys/stalecheck", "/dev/stalecheck"]) {
      const run = await child([...JSON_ARGS, "--cache-dir", cacheDir, "."], dir);
      expect(run.signal, cacheDir).toBeNull();
      expect(run.code, cacheDir).toBe(2);
      expect(run.stderr).toMatch(/not a place for a cache|under \/(proc|sys|dev)/);
    }
  }, 90_000);
});

describe("the cache key", () => {
  it("is made once, readable by its owner only, and entries sealed with another key are misses, then replaced", async () => {
    const dir = project();
    const cacheDir = join(work.dir, `keyed-${++made}`);
    const [first, second] = [join(work.dir, `key-a-${++made}`), join(work.dir, `key-b-${made}`)];
    const keyed = async (cacheKeyDir: string) => {
      const result = await scan({ paths: [dir], jobs: 1, cacheDir, cacheKeyDir });
      return { json: stable(formatJson(result)), stats: result.extraction! };
    };
    const cold = await keyed(first);
    const files = cold.stats.parsed;
    expect(files).toBeGreaterThan(5);
    const keyFile = join(first, "cache-key");
    expect(readFileSync(keyFile, "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
    if (posix) expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect((await keyed(first)).stats).toMatchObject({ analysisCached: true });
    // Another user's (or a repository's) cache: nothing in it is trusted, and it is replaced.
    const other = await keyed(second);
    expect(other.stats).toMatchObject({ parsed: files, cached: 0, analysisCached: false, cacheUnavailable: null });
    expect(other.stats.cacheRejected).toBeGreaterThan(0);
    expect(other.json).toBe(cold.json);
    expect((await keyed(second)).stats).toMatchObject({ analysisCached: true });
    expect((await keyed(first)).stats).toMatchObject({ parsed: files, analysisCached: false });
  });

  it("is not used from inside the scanned tree: the scan runs without a cache and says why", async () => {
    const dir = project();
    const expected = await reference(dir);
    for (const env of [{ STALECHECK_KEY_DIR: join(dir, ".key") }, { STALECHECK_KEY_DIR: undefined, XDG_CACHE_HOME: join(dir, ".xdg") }]) {
      const run = await cli([...JSON_ARGS, "."], dir, env);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe(expected.stdout);
      expect(run.stderr).toMatch(/^stalecheck: warning: running without the cache: the cache key \S+cache-key is inside the scanned path/);
      expect(readdirSync(dir)).toEqual(["app"]);
    }
  });

  it("runs without a cache, and says why, when there is no place for a key", async () => {
    const dir = project();
    const run = await cli([...JSON_ARGS, "."], dir, { STALECHECK_KEY_DIR: undefined, XDG_CACHE_HOME: undefined, HOME: undefined });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("warning: running without the cache: there is no directory for the cache key");
    expect(readdirSync(dir)).toEqual(["app"]);
  });

  it("is looked for in STALECHECK_KEY_DIR, then XDG_CACHE_HOME, then HOME", () => {
    expect(cacheKeyDirectory({ STALECHECK_KEY_DIR: "keys", XDG_CACHE_HOME: "/xdg", HOME: "/home/u" }, "/work")).toBe(join("/work", "keys"));
    expect(cacheKeyDirectory({ XDG_CACHE_HOME: "/xdg", HOME: "/home/u" }, "/work")).toBe(join("/xdg", "stalecheck"));
    expect(cacheKeyDirectory({ XDG_CACHE_HOME: "relative", HOME: "/home/u" }, "/work")).toBe(join("/home/u", ".cache", "stalecheck"));
    expect(cacheKeyDirectory({}, "/work")).toBeNull();
  });

  it.skipIf(!posix)("a key file that is a link, a FIFO, too large, malformed or another user's is not used, and nothing hangs", async () => {
    const dir = project();
    const expected = await reference(dir);
    const genuine = join(work.dir, `genuine-key-${++made}`);
    mkdirSync(genuine);
    writeFileSync(join(genuine, "cache-key"), `${"ab".repeat(32)}\n`, { mode: 0o600 });
    const cases: [string, (file: string) => void][] = [
      ["link", (file) => symlinkSync(join(genuine, "cache-key"), file)],
      ["dangling link", (file) => symlinkSync(join(genuine, "no-such-key"), file)],
      ["fifo", (file) => execFileSync("mkfifo", [file])],
      ["large", (file) => writeFileSync(file, "ab".repeat(1024), { mode: 0o600 })],
      ["malformed", (file) => writeFileSync(file, "not a key\n", { mode: 0o600 })],
    ];
    if (process.getuid?.() === 0) {
      cases.push(["another user's", (file) => {
        writeFileSync(file, `${"cd".repeat(32)}\n`, { mode: 0o600 });
        chownSync(file, 4242, 4242);
      }]);
    }
    for (const [what, make] of cases) {
      const keyDir = join(work.dir, `bad-key-${++made}`);
      mkdirSync(keyDir);
      make(join(keyDir, "cache-key"));
      const run = await child([...JSON_ARGS, "."], dir, { STALECHECK_KEY_DIR: keyDir });
      expect(run.signal, what).toBeNull();
      expect(run.code, what).toBe(1);
      expect(run.stdout, what).toBe(expected.stdout);
      expect(run.stderr, what).toMatch(/warning: running without the cache: cannot use the cache key/);
      expect(readdirSync(dir), what).toEqual(["app"]);
      expect(existsSync(join(genuine, "no-such-key")), what).toBe(false);
    }
  }, 120_000);
});
