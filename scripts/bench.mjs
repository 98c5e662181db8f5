#!/usr/bin/env node
/**
 * `npm run bench`: times, in one run and on the same files, stalecheck cold and warm, a
 * parse-and-walk-only floor with the same tree-sitter parser, `bandit -r` and ruff (the
 * @astral-sh/ruff-wasm-nodejs build) with a broad rule set, on Debian's Django + DRF trees and
 * on a ~1M-line corpus made by copying them into distinct module paths. Every measurement is a
 * fresh process under GNU time (wall time and peak RSS); each is repeated and reported as
 * min/median, followed by the ratios that issue 5 sets targets for. Not a test.
 *
 *   npm run bench -- [--runs N] [--large-runs N] [--skip-large] [--work DIR] [--django DIR] [--drf DIR]
 *   node scripts/bench.mjs --stages DIR     where one process spends its time on DIR, per stage
 *
 * Needs: `apt-get install bandit python3-django python3-djangorestframework time` (Debian),
 * `taskset` (util-linux) for the one-core rows, and a built dist/ (`npm run bench` builds).
 * Generated corpora and caches live under --work (default: $TMPDIR/stalecheck-bench), never in
 * the repository.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const RUFF_RULES = ["E", "F", "W", "B", "S", "DJ", "UP", "SIM", "C4", "PL"];
/** The comment the "after editing one file" row adds to, then removes from, one corpus file. */
const EDIT_MARKER = "# edited by the benchmark\n";

// Sub-modes run in their own measured process: the floor and the ruff-wasm linter.
if (process.argv[2] === "--floor") await floor(process.argv[3], process.argv[4]);
else if (process.argv[2] === "--ruff") await ruff(process.argv[3], process.argv[4]);
else if (process.argv[2] === "--stages") await stages(resolve(process.argv[3]), process.argv[4] ?? REPO);
else await bench(parseOptions(process.argv.slice(2)));

function parseOptions(argv) {
  const options = {
    runs: 3, largeRuns: 2, skipLarge: false, work: join(tmpdir(), "stalecheck-bench"),
    django: "/usr/lib/python3/dist-packages/django", drf: "/usr/lib/python3/dist-packages/rest_framework",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--runs") options.runs = Number(value());
    else if (arg === "--large-runs") options.largeRuns = Number(value());
    else if (arg === "--skip-large") options.skipLarge = true;
    else if (arg === "--work") options.work = resolve(value());
    else if (arg === "--django") options.django = resolve(value());
    else if (arg === "--drf") options.drf = resolve(value());
    else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

async function bench(options) {
  for (const [what, path] of [["Django", options.django], ["DRF", options.drf]]) {
    if (!existsSync(path)) throw new Error(`${what} tree not found at ${path}: apt-get install python3-django python3-djangorestframework, or pass --django/--drf`);
  }
  for (const tool of ["bandit", "taskset", "/usr/bin/time"]) {
    if (spawnSync(tool, ["--version"], { stdio: "ignore" }).error) throw new Error(`${tool} is needed: apt-get install bandit util-linux time`);
  }
  if (!existsSync(join(REPO, "dist", "cli", "main.js"))) throw new Error("dist/ is missing: run `npm run build` (npm run bench does)");
  mkdirSync(options.work, { recursive: true });
  const build = snapshotBuild(options.work);

  const corpora = [{ name: "Django+DRF", root: makeCorpus(options, 1), runs: options.runs }];
  if (!options.skipLarge) corpora.push({ name: "1M-line copies", root: makeCorpus(options, copiesForMillion(corpora[0].root)), runs: options.largeRuns });

  const machine = describeMachine();
  console.log(`# stalecheck benchmark\n\n${machine}\n`);
  const results = [];
  for (const corpus of corpora) {
    const size = measureCorpus(corpus.root);
    console.log(`## ${corpus.name}: ${size.files} files, ${size.lines.toLocaleString("en-US")} lines, ${(size.bytes / 1e6).toFixed(1)} MB (${corpus.runs} runs each)\n`);
    const rows = runCorpus(corpus, options, build);
    results.push({ corpus: corpus.name, ...size, rows });
    console.log(table(rows));
    console.log(`\n${ratios(rows).map((r) => `- ${r}`).join("\n")}\n`);
  }
  if (results.length === 2) {
    const [small, large] = results;
    const cold = (r) => r.rows.find((row) => row.key === "cold").median;
    console.log(`## Scaling\n\n- lines ×${(large.lines / small.lines).toFixed(2)}, cold scan time ×${(cold(large) / cold(small)).toFixed(2)} (target ≤ 8×)`);
    const rss = large.rows.find((row) => row.key === "cold").rss;
    console.log(`- peak RSS of the cold scan on the 1M-line corpus: ${rss} MB (target < 400 MB)\n`);
  }
  const out = join(options.work, "results.json");
  writeFileSync(out, `${JSON.stringify({ machine, results }, null, 2)}\n`);
  console.log(`(raw numbers: ${out})`);
}

/** The corpus with `copies` copies of Django + DRF, each under its own package path. */
function makeCorpus(options, copies) {
  const root = join(options.work, copies === 1 ? "corpus-djdrf" : `corpus-${copies}x`);
  const marker = join(root, ".complete");
  if (existsSync(marker)) return root;
  rmSync(root, { recursive: true, force: true });
  const skipCaches = (src) => !src.split("/").includes("__pycache__");
  for (let i = 1; i <= copies; i++) {
    const base = copies === 1 ? root : join(root, `copy${i}`);
    cpSync(options.django, join(base, "django"), { recursive: true, filter: skipCaches });
    cpSync(options.drf, join(base, "rest_framework"), { recursive: true, filter: skipCaches });
  }
  writeFileSync(marker, "");
  return root;
}

function copiesForMillion(singleRoot) {
  return Math.ceil(1_000_000 / measureCorpus(singleRoot).lines);
}

function pythonFiles(root) {
  const out = [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile() && entry.name.endsWith(".py")) out.push(path);
    }
  }
  return out.sort();
}

function measureCorpus(root) {
  let lines = 0;
  let bytes = 0;
  const files = pythonFiles(root);
  for (const file of files) {
    const buffer = readFileSync(file);
    bytes += buffer.length;
    for (const byte of buffer) if (byte === 10) lines++;
  }
  return { files: files.length, lines, bytes };
}

/**
 * A private copy of the build (dist, bin, package.json; node_modules linked), so that a rebuild
 * in the working tree during the run cannot change what is measured or invalidate the cache.
 */
function snapshotBuild(work) {
  const dir = join(work, "build");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const part of ["dist", "bin", "package.json"]) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return dir;
}

function runCorpus(corpus, options, build) {
  const stalecheck = [join(build, "bin", "stalecheck.js")];
  const cache = join(options.work, `cache-${corpus.name.replace(/\W+/g, "-")}`);
  const report = join(options.work, "report.json");
  const check = (extra) => ["node", ...stalecheck, "check", corpus.root, "--format", "json", "--output", report, ...extra];
  const oneCore = (command) => ["taskset", "-c", "0", ...command];
  const cases = [
    { key: "floor1", label: "parse-and-walk floor (same parser and cursor, 1 thread, 1 core)", command: oneCore(["node", fileURLToPath(import.meta.url), "--floor", corpus.root, build]) },
    { key: "cold1", label: "stalecheck cold, --jobs 1, 1 core", command: oneCore(check(["--jobs", "1", "--cache-dir", cache])), before: () => rmSync(cache, { recursive: true, force: true }) },
    { key: "cold", label: `stalecheck cold, default (--jobs ${cpus().length})`, command: check(["--cache-dir", cache]), before: () => rmSync(cache, { recursive: true, force: true }) },
    { key: "nocache", label: `stalecheck --no-cache (--jobs ${cpus().length})`, command: check(["--no-cache"]) },
    // Runs right after the cold scans, which leave the cache full.
    { key: "warm", label: "stalecheck warm (unchanged tree, cache filled)", command: check(["--cache-dir", cache]) },
    // One file edited since the last scan: its facts and the analysis are redone, the rest is cached.
    { key: "edit", label: "stalecheck after editing one file (cache filled)", command: check(["--cache-dir", cache]), before: () => editOneFile(corpus.root) },
    { key: "ruff", label: `ruff ${ruffVersion()} (wasm, 1 thread): ${RUFF_RULES.join(",")}`, command: ["node", fileURLToPath(import.meta.url), "--ruff", corpus.root, build] },
    { key: "bandit", label: `bandit ${banditVersion()} -r`, command: ["bandit", "-r", corpus.root, "-q", "-f", "json", "-o", join(options.work, "bandit.json")], ok: [0, 1] },
  ];
  // Round-robin: each round runs every case once, so a change in machine load hits all alike.
  undoEdit(corpus.root);
  const samples = cases.map(() => []);
  for (let run = 0; run < corpus.runs; run++) {
    cases.forEach((c, i) => {
      c.before?.();
      const sample = measure(c.command, c.ok ?? [0, 1]);
      samples[i].push(sample);
      process.stderr.write(`  ${corpus.name} | round ${run + 1} | ${c.label}: ${sample.seconds.toFixed(2)} s, ${sample.rss} MB\n`);
    });
  }
  undoEdit(corpus.root);
  return cases.map((c, i) => {
    const times = samples[i].map((s) => s.seconds).sort((a, b) => a - b);
    return { key: c.key, label: c.label, min: times[0], median: median(times), rss: Math.max(...samples[i].map((s) => s.rss)) };
  });
}

function editedFile(root) {
  const single = join(root, "rest_framework", "views.py");
  return existsSync(single) ? single : join(root, "copy1", "rest_framework", "views.py");
}

/** Adds or removes a trailing comment in one file of the corpus, so each round sees a real edit. */
function editOneFile(root) {
  const text = readFileSync(editedFile(root), "utf8");
  writeFileSync(editedFile(root), text.endsWith(EDIT_MARKER) ? text.slice(0, -EDIT_MARKER.length) : text + EDIT_MARKER);
}

/** Leaves the corpus as generated, for the next run and for its line count. */
function undoEdit(root) {
  const text = readFileSync(editedFile(root), "utf8");
  if (text.endsWith(EDIT_MARKER)) writeFileSync(editedFile(root), text.slice(0, -EDIT_MARKER.length));
}

/** One run under GNU time: wall seconds and peak RSS (MB) of the process and its threads. */
function measure(command, okCodes) {
  const [program, ...args] = command;
  const result = spawnSync("/usr/bin/time", ["-f", "@@time %e %M", program, ...args], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "ignore", "pipe"] });
  const line = /@@time ([\d.]+) (\d+)/.exec(result.stderr ?? "");
  const code = /Command exited with non-zero status (\d+)/.exec(result.stderr ?? "");
  const exit = code ? Number(code[1]) : result.status;
  if (!line || (!okCodes.includes(exit) && exit !== 0)) throw new Error(`${command.join(" ")} failed (exit ${exit}):\n${result.stderr}`);
  return { seconds: Number(line[1]), rss: Math.round(Number(line[2]) / 1024) };
}

function median(sorted) {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function table(rows) {
  const lines = ["| run | min s | median s | peak RSS MB |", "| --- | ---: | ---: | ---: |"];
  for (const r of rows) lines.push(`| ${r.label} | ${r.min.toFixed(2)} | ${r.median.toFixed(2)} | ${r.rss} |`);
  return lines.join("\n");
}

function ratios(rows) {
  const m = Object.fromEntries(rows.map((r) => [r.key, r.median]));
  const x = (a, b) => (a / b).toFixed(2);
  const verdict = (ok) => (ok ? "met" : "missed");
  return [
    `cold --jobs 1 on 1 core / floor: ${x(m.cold1, m.floor1)}× (target ≤ 1.5×: ${verdict(m.cold1 <= 1.5 * m.floor1)})`,
    `cold with ${cpus().length} workers / floor: ${x(m.cold, m.floor1)}× (target < 1×: ${verdict(m.cold < m.floor1)})`,
    `bandit / cold: ${x(m.bandit, m.cold)}× (target ≥ 5×: ${verdict(m.bandit >= 5 * m.cold)})`,
    `ruff-wasm / cold: ${x(m.ruff, m.cold)}× (target > 1×: ${verdict(m.ruff > m.cold)})`,
    `warm / cold: ${(100 * m.warm / m.cold).toFixed(1)}% (target < 10%: ${verdict(m.warm < 0.1 * m.cold)})`,
    `one file edited / cold: ${(100 * m.edit / m.cold).toFixed(1)}% (no target)`,
  ];
}

function describeMachine() {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const node = process.version;
  let os = "";
  try {
    os = readFileSync("/etc/os-release", "utf8").match(/PRETTY_NAME="([^"]+)"/)?.[1] ?? "";
  } catch {
    os = process.platform;
  }
  const load = loadavg().map((l) => l.toFixed(1)).join(" ");
  return `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os}, Node ${node}; load average at start ${load}.`;
}

function banditVersion() {
  return /bandit ([\d.]+)/.exec(execFileSync("bandit", ["--version"], { encoding: "utf8" }))?.[1] ?? "";
}

function ruffVersion() {
  return JSON.parse(readFileSync(join(REPO, "node_modules", "@astral-sh", "ruff-wasm-nodejs", "package.json"), "utf8")).version;
}

/** The floor: discover, read, parse and visit every node with a tree cursor; nothing else. */
/** A module of the compiled stages in the snapshot `build` (see snapshotBuild). */
function fromBuild(build, module) {
  return import(pathToFileURL(join(build, "dist", module)).href);
}

async function floor(root, build) {
  const from = (module) => fromBuild(build, module);
  const { discover } = await from("discover/discover.js");
  const { readSource } = await from("discover/readSource.js");
  const { getPythonParser } = await from("parse/parser.js");
  const { cursorKind, openCursor } = await from("parse/treeCursor.js");
  const parser = await getPythonParser();
  const { files } = discover({ cwd: root, paths: [], exclude: [] });
  let nodes = 0;
  for (const file of files) {
    const source = readSource(file.absolute, 5 * 1024 * 1024);
    if (!source.ok) continue;
    const tree = parser.parse(source.text);
    // The fastest walk there is: the cursor stalecheck's own copy uses (see src/parse/treeCursor.ts).
    const cursor = openCursor(tree);
    for (let more = true; more; ) {
      nodes++;
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) {
          more = false;
          break;
        }
      }
    }
    cursor.close();
    tree.delete();
  }
  process.stdout.write(`${JSON.stringify({ files: files.length, nodes, cursor: cursorKind() })}\n`);
}

/**
 * Where the time goes, in one process and one thread: each stage of the extraction per file
 * (parse, copy of the tree, module scan, function walker), then the project and rule stages.
 * Three rounds: the first runs on a cold JIT, as every real scan does.
 */
async function stages(root, build) {
  const from = (module) => fromBuild(build, module);
  const { discover } = await from("discover/discover.js");
  const { readSource } = await from("discover/readSource.js");
  const { getPythonParser } = await from("parse/parser.js");
  const { copyTree } = await from("parse/syntaxTree.js");
  const { cursorKind } = await from("parse/treeCursor.js");
  const { scanModule } = await from("extract/moduleFacts.js");
  const { extractFunction } = await from("extract/functionWalker.js");
  const { SourceLines } = await from("extract/syntax.js");
  const { extractFileFacts } = await from("extract/extractFileFacts.js");
  const { buildProject } = await from("project/buildProject.js");
  const { analyse } = await from("analysis/engine.js");
  const { RULES, findRule } = await from("rules/registry.js");
  const parser = await getPythonParser();
  const { files } = discover({ cwd: root, paths: [], exclude: [] });
  const sources = files.map((f) => ({ path: f.path, read: readSource(f.absolute, 5 * 1024 * 1024) })).filter((s) => s.read.ok);
  const ms = (t) => `${Math.round(t)} ms`;
  // The project and rule stages are timed on the same facts every round.
  const facts = [];
  for (const { path, read } of sources) facts.push(await extractFileFacts(path, read.text));
  for (let round = 1; round <= 3; round++) {
    const time = { parse: 0, copy: 0, scan: 0, functions: 0 };
    for (const { read } of sources) {
      let at = performance.now();
      const tree = parser.parse(read.text);
      const lap = (key) => {
        const now = performance.now();
        time[key] += now - at;
        at = now;
      };
      lap("parse");
      const rootNode = copyTree(tree, read.text);
      tree.delete();
      lap("copy");
      const lines = new SourceLines(read.text);
      const scan = scanModule(rootNode, lines);
      lap("scan");
      const context = { lines, imports: scan.imports, transactionNames: new Set() };
      for (const site of scan.functions) extractFunction(site, context);
      lap("functions");
    }
    let at = performance.now();
    const project = buildProject(facts, { rootName: root.split("/").pop(), basicAuthNames: [], authzModels: [] });
    const built = performance.now() - at;
    at = performance.now();
    const findings = analyse(project, { rules: RULES, findRule, includeNonRequest: false });
    const analysed = performance.now() - at;
    console.log(`round ${round} (${cursorKind()} cursor): parse ${ms(time.parse)}, copy ${ms(time.copy)}, module scan ${ms(time.scan)}, function walker ${ms(time.functions)}; buildProject ${ms(built)}, analyse ${ms(analysed)} (${sources.length} files, ${findings.length} findings)`);
  }
}

/** ruff's linter compiled to wasm, one thread, every discovered file, the broad rule set. */
async function ruff(root, build) {
  const { Workspace, PositionEncoding } = await import("@astral-sh/ruff-wasm-nodejs");
  const { discover } = await fromBuild(build, "discover/discover.js");
  const workspace = new Workspace({ lint: { select: RUFF_RULES } }, PositionEncoding.UTF16);
  const { files } = discover({ cwd: root, paths: [], exclude: [] });
  let diagnostics = 0;
  for (const file of files) diagnostics += workspace.check(readFileSync(file.absolute, "utf8")).length;
  process.stdout.write(`${JSON.stringify({ files: files.length, diagnostics })}\n`);
}
