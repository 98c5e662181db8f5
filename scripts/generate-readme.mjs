#!/usr/bin/env node
/**
 * `npm run docs:readme`: rewrites the example outputs in README.md from real runs of the built
 * CLI on examples/billing, so that they show what stalecheck prints today. Each example sits
 * between `<!-- generated: NAME -->` and `<!-- end generated -->`; everything else is left as
 * it is. `--check` rewrites nothing and exits 1 when an example is stale (test/readme.test.ts
 * does the same). Needs the build (`npm run build`).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const README = join(REPO, "README.md");
const BLOCK = /(<!-- generated: ([a-z-]+) -->\n)([\s\S]*?)(<!-- end generated -->)/g;

/** Runs the built CLI from the repository root, as a reader would: no colours, no cache, no progress bar. */
function stalecheck(args) {
  try {
    return execFileSync(process.execPath, [join(REPO, "bin", "stalecheck.js"), ...args, "--no-cache", "--no-progress"], {
      cwd: REPO, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }, stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    // Exit code 1 means findings: its output is the example.
    if (error.status === 1) return error.stdout;
    throw error;
  }
}

const fence = (lang, text) => `\`\`\`${lang}\n${text.endsWith("\n") ? text : `${text}\n`}\`\`\`\n`;

/** The blocks of the text report: one per finding, then the error lines, then the summary. */
function textBlocks(report) {
  const blocks = report.trimEnd().split("\n\n");
  return { findings: blocks.slice(0, -1), summary: blocks.at(-1) };
}

/**
 * A demo run of the README's probe command (`npm run demo`, then the command): what the target
 * answered and how long it took. The report is formatted from it by the probe's own code, so
 * the example changes when the report's format does; the numbers are that run's.
 */
const RECORDED_PROBE_RUN = {
  env: { BILLING_DEMO_URL: "http://127.0.0.1:41873", BILLING_CUSTOMER: "customer:x", BILLING_ADMIN: "admin:x" },
  outcome: {
    stoppedBy: "violation", requests: 6, durationMs: 2712,
    rounds: [{
      round: 1, setupValues: { code: "DEMO-7Q2K9" }, setupStatus: 201,
      answers: [1893, 1921, 1958, 2004].map((answeredMs) => ({ status: 200, answeredMs, sentMs: 0 })),
      successes: 4, releaseSpreadMs: 0.38, mutation: null,
      verify: { status: 200, results: [{ expectation: "wallet <= 5.00", actual: "20.00", holds: false }] },
      violations: ["4 of 4 requests succeeded, at most 1 allowed", 'wallet <= 5.00 does not hold: found "20.00"'],
      errors: [], durationMs: 2412,
    }],
  },
};

/** The README's probe command (the sh block that runs `stalecheck probe`), as its words. */
async function readmeProbeCommand(readme) {
  const block = /```sh\n([^`]*?stalecheck probe [\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("README.md: no sh block runs `stalecheck probe`");
  const line = block.split("\n").filter((l) => !l.startsWith("set ")).join("\n").replace(/\\\n/g, " ");
  const { splitWords } = await import("./action-scan.mjs");
  const words = splitWords(line.replace(/"\$BILLING_DEMO_URL"/, RECORDED_PROBE_RUN.env.BILLING_DEMO_URL));
  return words.slice(words.indexOf("probe") + 1);
}

/** The probe's text report of the recorded run of the README's command. */
async function probeExample(readme) {
  const { buildProbeConfig, parseProbeArgs } = await import(join(REPO, "dist", "probe", "options.js"));
  const { probeHeader, probeSummary, roundLine } = await import(join(REPO, "dist", "probe", "report.js"));
  const config = buildProbeConfig({ cli: parseProbeArgs(await readmeProbeCommand(readme)), scenario: null, env: RECORDED_PROBE_RUN.env });
  const { outcome } = RECORDED_PROBE_RUN;
  return `${probeHeader(config)}\n${outcome.rounds.map((r) => roundLine(r, config.concurrency)).join("")}\n${probeSummary(outcome)}`;
}

/** What each generated block holds, computed from real runs. */
export async function generatedBlocks(readme = readFileSync(README, "utf8")) {
  const full = textBlocks(stalecheck(["examples/billing"]));
  // One finding in full: the first unlocked check-then-write (STC102), else the first finding.
  const shown = full.findings.find((b) => / STC102 /.test(b.split("\n")[0])) ?? full.findings[0];
  const json = JSON.parse(stalecheck(["examples/billing", "--format", "json"]));
  const count = json.findings.length;
  const excerpt = { ...json, findings: json.findings.slice(0, 1) };
  const endpoints = stalecheck(["endpoints", "examples/billing"]).split("\n\n");
  const endpoint = endpoints.find((b) => b.includes("PayInvoiceVulnerable")) ?? endpoints[0];
  return {
    "text-example": `${fence("console", `$ stalecheck examples/billing\n${shown}\n\n${full.findings.length > 1 ? `(${full.findings.length - 1} more findings)\n\n` : ""}${full.summary}`)}`,
    "concise-example": fence("console", `$ stalecheck examples/billing --format concise\n${stalecheck(["examples/billing", "--format", "concise"])}`),
    "statistics-example": fence("console", `$ stalecheck examples/billing --statistics\n${stalecheck(["examples/billing", "--statistics"])}`),
    "json-example": `${fence("json", JSON.stringify(excerpt, null, 2))}\n(The first of the ${count} findings of \`stalecheck examples/billing --format json\`, run from the repository root.)\n`,
    "endpoints-example": fence("console", `$ stalecheck endpoints examples/billing\n${endpoint}\n(…)`),
    "probe-example": fence("text", await probeExample(readme)),
  };
}

/** `readme` with every generated block replaced; throws on a block this script does not know. */
export function rewriteReadme(readme, blocks) {
  return readme.replace(BLOCK, (_all, open, name, _old, close) => {
    if (!(name in blocks)) throw new Error(`README.md: unknown generated block "${name}"`);
    return `${open}${blocks[name]}${close}`;
  });
}

/** Durations differ from run to run: left out of comparisons. */
export function withoutTimings(text) {
  return text.replace(/"durationMs": \d+/g, '"durationMs": 0');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const readme = readFileSync(README, "utf8");
  const updated = rewriteReadme(readme, await generatedBlocks(readme));
  if (process.argv.includes("--check")) {
    if (withoutTimings(updated) !== withoutTimings(readme)) {
      process.stderr.write("README.md: the generated examples are stale; run `npm run docs:readme`\n");
      process.exit(1);
    }
  } else if (updated !== readme) {
    writeFileSync(README, updated);
    process.stderr.write("README.md: examples regenerated\n");
  }
}
