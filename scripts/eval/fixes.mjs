#!/usr/bin/env node
/**
 * `npm run eval:fixes -- MIRRORS [--only REPO] [--work DIR]`: for each race fix in
 * eval/fixes.json, scans the whole project at the commit before the fix and at the fix, and
 * prints whether the race is reported before (a finding in the named file and function) and,
 * for fixes that really close the window, whether that function is clean after (a separate race
 * the manifest lists under `remainsAfter`, by rule and line at the fix, does not count).
 *
 * MIRRORS holds bare git mirrors as `<owner>+<name>/repo` (what the search tool's fetch
 * brings). Each commit's Python sources are written once under the work folder (default: a
 * folder in the system's temporary directory), read from the mirror with `git ls-tree` and
 * `git cat-file --batch`, so blobs a mirror lacks are skipped rather than fatal.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { REPO, commandLine, loadScan } from "./cli.mjs";

const { options, rest } = commandLine(process.argv.slice(2), ["--only", "--work"]);
const only = options["--only"];
const work = resolve(options["--work"] ?? join(tmpdir(), "stalecheck-eval-fixes"));
const [mirrors] = rest;
if (!mirrors) {
  console.error("usage: npm run eval:fixes -- MIRRORS [--only owner/name] [--work DIR]\n  MIRRORS holds bare git mirrors as <owner>+<name>/repo");
  process.exit(2);
}
const scan = await loadScan();
const cases = JSON.parse(readFileSync(join(REPO, "eval", "fixes.json"), "utf8")).filter((c) => !only || c.repo === only);

const scans = new Map();
async function findingsAt(repo, commit) {
  const key = `${repo}@${commit}`;
  if (!scans.has(key)) {
    const root = extract(repo, commit);
    scans.set(key, (await scan({ paths: [root], cwd: root })).findings);
  }
  return scans.get(key);
}

function extract(repo, commit) {
  const dest = join(work, repo.replace("/", "+"), commit);
  if (existsSync(join(dest, ".complete"))) return dest;
  const gitDir = join(mirrors, repo.replace("/", "+"), "repo");
  const git = (argv, input) => execFileSync("git", ["--git-dir", gitDir, "-c", "core.fsmonitor=false", ...argv], { input, maxBuffer: 1 << 30 });
  const wanted = [];
  for (const entry of git(["ls-tree", "-r", "-z", commit]).toString("utf8").split("\0")) {
    const tab = entry.indexOf("\t");
    if (tab < 0) continue;
    const [mode, kind, sha] = entry.slice(0, tab).split(" ");
    const path = entry.slice(tab + 1);
    if (kind === "blob" && mode !== "120000" && path.endsWith(".py")) wanted.push({ sha, path });
  }
  const out = git(["cat-file", "--batch"], wanted.map((w) => `${w.sha}\n`).join(""));
  const partial = `${dest}.partial`;
  rmSync(partial, { recursive: true, force: true });
  let pos = 0;
  for (const { path } of wanted) {
    const newline = out.indexOf(10, pos);
    const header = out.subarray(pos, newline).toString().split(" ");
    pos = newline + 1;
    if (header[1] === "missing") continue;
    const size = Number(header[2]);
    const file = join(partial, path);
    if (!file.startsWith(partial + "/")) throw new Error(`unsafe path in ${repo}@${commit}: ${path}`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, out.subarray(pos, pos + size));
    pos += size + 1;
  }
  writeFileSync(join(partial, ".complete"), "");
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
  renameSync(partial, dest);
  return dest;
}

const inFunction = (c) => (f) => f.file === c.file && (f.function === c.function || f.function.startsWith(`${c.function}.`));
const rows = [];
for (const c of cases) {
  const before = (await findingsAt(c.repo, c.vulnerableCommit)).filter(inFunction(c));
  // A separate race the manifest records as left in the function after this fix (fixed by another case).
  const remains = (f) => (c.remainsAfter ?? []).some((r) => r.rule === f.rule && r.line === f.line);
  const after = (await findingsAt(c.repo, c.fixCommit)).filter(inFunction(c)).filter((f) => !remains(f));
  rows.push({ case: c, before, after });
}
const mark = (ok) => (ok ? "yes" : "no");
console.log("| project | fix | function | idiom | full fix | detected before | clean after |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const { case: c, before, after } of rows) {
  const clean = c.fullFix ? mark(after.length === 0) : "n/a";
  console.log(`| ${c.repo.split("/")[1]} | ${c.fixCommit.slice(0, 10)} | \`${c.file}\` ${c.function} | ${c.idiom} | ${c.fullFix ? "yes" : "no"} | ${mark(before.length > 0)}${before.length > 0 ? ` (${[...new Set(before.map((f) => f.rule))].join(", ")})` : ""} | ${clean} |`);
}
const detected = rows.filter((r) => r.before.length > 0).length;
const full = rows.filter((r) => r.case.fullFix);
const clean = full.filter((r) => r.after.length === 0).length;
const authz = rows.filter((r) => r.case.involvesAuthorization);
console.log("");
console.log(`Detected before the fix: ${detected} of ${rows.length} (${Math.round((100 * detected) / Math.max(rows.length, 1))}%); involving authorization: ${authz.filter((r) => r.before.length > 0).length} of ${authz.length}.`);
console.log(`Clean after a full fix: ${clean} of ${full.length} (${Math.round((100 * clean) / Math.max(full.length, 1))}%).`);
