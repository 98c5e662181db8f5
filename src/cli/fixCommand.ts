/**
 * `check --fix`, `--unsafe-fixes` and `--diff`, with Ruff's conventions: fixes are applied in
 * memory until none is left to apply; `--diff` prints them as a unified diff and writes
 * nothing (exit 1 when there is one); `--fix` writes the files and reports the findings left,
 * each saying why it was not fixed; unsafe fixes only with `--unsafe-fixes`.
 */
import { join } from "node:path";
import { UsageError } from "../core/errors.js";
import type { Severity } from "../core/severity.js";
import { unifiedDiff } from "../fix/diff.js";
import { type FixReport, runFixes } from "../fix/runFixes.js";
import { Workspace } from "../fix/workspace.js";
import { writeFixedFile } from "../fix/writeFiles.js";
import { escapeControl } from "../report/escape.js";
import { DEFAULT_MAX_FILE_BYTES, type ScanOptions, atOrAbove } from "../run/scan.js";
import type { CheckArgs } from "./args.js";
import { renderReport, unanalysedProblem } from "./checkRun.js";
import { writeOutputFile } from "./outputFile.js";

/** What of the CLI's IO this command uses (main.ts's CliIO has it). */
interface FixIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
  stdoutIsTTY: boolean;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : word.endsWith("x") ? "es" : "s"}`;

export async function runFixCommand(args: CheckArgs, scanOptions: ScanOptions, failOn: Severity, io: FixIO, scanned: () => void): Promise<number> {
  const { workspace, result } = await Workspace.open(scanOptions);
  scanned();
  if (result.extraction?.cacheUnavailable) io.stderr(`stalecheck: warning: running without the cache: ${result.extraction.cacheUnavailable}\n`);
  const unanalysed = unanalysedProblem(result);
  if (unanalysed) throw new UsageError(`${unanalysed}; nothing was fixed (\`stalecheck check\` lists why for each file)`);
  const report = await runFixes(workspace, { unsafe: args.unsafeFixes });
  if (args.diff) {
    const diff = [...report.files].map(([file, { original, fixed }]) => unifiedDiff(file, original, fixed)).join("");
    if (args.output !== null) writeOutputFile(args.output, io.cwd, "--output", diff);
    else io.stdout(diff);
    io.stderr(`${summary(report, true)}\n`);
    return report.files.size > 0 ? 1 : 0;
  }
  const failed: string[] = [];
  for (const [file, { original, fixed }] of report.files) {
    const problem = writeFixedFile(join(workspace.root, file), original, fixed, scanOptions.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    if (problem) {
      failed.push(`${file}: not written: ${problem}`);
      await workspace.update(file, null);
    }
  }
  // The findings left after the files written, each saying why no fix was applied to it.
  const why = new Map(report.remaining.map((r) => [r.finding.fingerprint, r.reason]));
  const findings = workspace.findings().map((f) => (why.has(f.fingerprint) ? { ...f, remediation: `${f.remediation} Not fixed by --fix: ${why.get(f.fingerprint)}.` } : f));
  const left = { ...result, findings, summary: { ...result.summary, findings: findings.length } };
  const color = args.output === null && io.stdoutIsTTY && !io.env.NO_COLOR;
  const rendered = renderReport(args.format, left, { color, cwd: io.cwd });
  if (args.output !== null) writeOutputFile(args.output, io.cwd, "--output", rendered);
  else io.stdout(rendered);
  for (const line of failed) io.stderr(`stalecheck: warning: ${escapeControl(line)}\n`);
  io.stderr(`${summary(report, false)}\n`);
  return atOrAbove(findings, failOn).length > 0 ? 1 : 0;
}

/** Ruff's words: "Fixed 9 findings (5 remaining)", "Would fix …", and the hidden unsafe fixes. */
function summary(report: FixReport, dryRun: boolean): string {
  const safe = report.applied.filter((f) => f.safety === "safe").length;
  const unsafe = report.applied.length - safe;
  const files = report.files.size;
  const fixes = report.applied.length === 0 ? "" : ` with ${plural(report.applied.length, "fix")} (${safe} safe, ${unsafe} unsafe) in ${plural(files, "file")}`;
  const head = dryRun
    ? `Would fix ${plural(report.fixed, "finding")}${fixes}; ${report.remaining.length} would remain.`
    : `Fixed ${plural(report.fixed, "finding")}${fixes}; ${report.remaining.length} remaining.`;
  const hidden = report.hiddenUnsafe > 0 ? `\n${plural(report.hiddenUnsafe, "hidden fix")} can be enabled with the \`--unsafe-fixes\` option.` : "";
  return head + hidden;
}
