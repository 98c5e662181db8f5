#!/usr/bin/env node
/**
 * `npm run eval:noise -- DIR [--triage FOLDER] [--json FILE]`: re-scans the real projects whose
 * triage files are in eval/triage/ (each extracted at its pinned commit as DIR/<project>), and
 * prints per project and per rule how many findings there are, how many a person has judged,
 * and how many of those are real, debatable or false, then the findings not judged yet.
 *
 * A verdict belongs to a race, not to a rule or a use line: it is matched on file, function
 * and check line (the finding's own line when it has no check).
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO, commandLine, loadScan } from "./cli.mjs";

const { options, rest } = commandLine(process.argv.slice(2), ["--triage", "--json"]);
const triageDir = resolve(options["--triage"] ?? join(REPO, "eval", "triage"));
const jsonOut = options["--json"];
const [corpusDir] = rest;
if (!corpusDir) {
  console.error("usage: npm run eval:noise -- DIR [--triage FOLDER] [--json FILE]\n  DIR holds each project of eval/triage/*.json, extracted at its commit, as DIR/<project>");
  process.exit(2);
}
const scan = await loadScan();

const keyOf = (f) => `${f.file}\u0000${f.function}\u0000${f.check?.line ?? f.line}`;
const pct = (n, d) => (d === 0 ? "-" : `${Math.round((100 * n) / d)}%`);
const perRule = new Map();
const projects = [];
const unjudged = [];
for (const name of readdirSync(triageDir).filter((n) => n.endsWith(".json")).sort()) {
  const triage = JSON.parse(readFileSync(join(triageDir, name), "utf8"));
  const root = join(corpusDir, triage.project);
  if (!existsSync(root)) {
    console.error(`skipped ${triage.project}: ${root} is missing (extract ${triage.repo} at ${triage.commit})`);
    continue;
  }
  const verdicts = new Map(triage.verdicts.map((v) => [`${v.file}\u0000${v.function}\u0000${v.check}`, v]));
  const result = await scan({ paths: [root], cwd: root });
  const row = { project: triage.project, commit: triage.commit.slice(0, 12), lines: pythonLines(root), findings: result.findings.length, judged: 0, real: 0, debatable: 0, false: 0 };
  for (const f of result.findings) {
    const verdict = verdicts.get(keyOf(f));
    const rule = perRule.get(f.rule) ?? { rule: f.rule, findings: 0, judged: 0, real: 0, debatable: 0, false: 0 };
    perRule.set(f.rule, rule);
    rule.findings++;
    if (!verdict) {
      unjudged.push(`${triage.project}/${f.file}:${f.line} ${f.rule} ${f.function} (check ${f.check?.line ?? "-"})`);
      continue;
    }
    for (const counts of [row, rule]) {
      counts.judged++;
      counts[verdict.verdict]++;
    }
  }
  projects.push(row);
}

const total = projects.reduce((t, p) => {
  for (const k of ["lines", "findings", "judged", "real", "debatable", "false"]) t[k] += p[k];
  return t;
}, { project: "total", commit: "", lines: 0, findings: 0, judged: 0, real: 0, debatable: 0, false: 0 });
const table = (rows, first) => [
  `| ${first} | findings | judged | real | debatable | false | real / judged | real or debatable / judged |`,
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map((r) => `| ${r[first]} | ${r.findings} | ${r.judged} | ${r.real} | ${r.debatable} | ${r.false} | ${pct(r.real, r.judged)} | ${pct(r.real + r.debatable, r.judged)} |`),
].join("\n");
console.log(table([...projects.map((p) => ({ ...p, project: `${p.project} (${p.commit}, ${p.lines.toLocaleString("en")} lines)` })), total], "project"));
console.log("");
console.log(table([...perRule.values()].sort((a, b) => (a.rule < b.rule ? -1 : 1)), "rule"));
console.log("");
console.log(`${total.findings} findings in ${total.lines.toLocaleString("en")} lines of Python: one per ${total.findings === 0 ? "-" : Math.round(total.lines / total.findings).toLocaleString("en")} lines.`);
console.log(unjudged.length === 0 ? "Every finding is judged." : `Not judged yet (${unjudged.length}):\n${unjudged.map((u) => `  ${u}`).join("\n")}`);
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ projects, total, rules: [...perRule.values()], unjudged }, null, 2)}\n`);

function pythonLines(dir) {
  let lines = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop();
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile() && entry.name.endsWith(".py") && statSync(path).size < 5 * 1024 * 1024) {
        const text = readFileSync(path, "utf8");
        lines += text.length === 0 ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      }
    }
  }
  return lines;
}
