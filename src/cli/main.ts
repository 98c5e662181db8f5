/** The CLI: the only module that knows about argv, exit codes, TTYs and the environment. */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { ruleDocMarkdown } from "../report/ruleDocs.js";
import { formatBaseline } from "../report/baseline.js";
import { projectPaths, shownPath } from "../report/paths.js";
import { formatEndpointsJson, formatEndpointsText } from "../report/endpoints.js";
import { cacheKeyDirectory } from "../cache/cacheKey.js";
import { escapeControl, escapeControlKeepingLines } from "../report/escape.js";
import { RULES, findRule } from "../rules/registry.js";
import { UsageError } from "../core/errors.js";
import { ConfigError } from "../config/config.js";
import { type ScanOptions, atOrAbove, scan } from "../run/scan.js";
import { TOOL_VERSION } from "../version.js";
import { ArgsError, HELP, parseArgs } from "./args.js";
import { planCheck, renderReport, unanalysedProblem } from "./checkRun.js";
import { checkOutputPath, writeOutputFile } from "./outputFile.js";
import { progressBar } from "./progress.js";

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
  stdoutIsTTY: boolean;
  /** Draw a progress bar on stderr (unless --no-progress). */
  stderrIsTTY?: boolean;
  /** Standard input, read whole (for --stdin-filename). */
  readStdin?: () => Promise<string>;
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_ERROR = 2;
/**
 * Where the CLI keeps its caches, in the project root (like .ruff_cache): the nearest directory
 * holding the configuration or `.git`, else the scan root; never the working directory as such,
 * so a scan run from elsewhere leaves nothing there. Being a default, a directory there that may
 * not be used (a committed link, say) is passed over with a warning; a --cache-dir that may not
 * be used is a usage error.
 */
export const DEFAULT_CACHE_DIR = ".stalecheck-cache";

/** The scan's cache options: --cache-dir as given (scan() resolves it, and refuses an empty one), or the default. */
function cacheOptions(cacheDir: string | null | undefined, io: CliIO, projectRoot: string): Pick<ScanOptions, "cacheDir" | "cacheDirDefault" | "cacheKeyDir"> {
  if (cacheDir === null) return { cacheDir: null };
  return {
    cacheDir: cacheDir ?? resolve(projectRoot, DEFAULT_CACHE_DIR),
    cacheDirDefault: cacheDir === undefined,
    cacheKeyDir: cacheKeyDirectory(io.env, io.cwd),
  };
}

/**
 * Colours on standard output: FORCE_COLOR (any value but 0 or false) turns them on and
 * NO_COLOR off, whatever the terminal; otherwise only a terminal gets them. Never in a file.
 */
export function useColor(env: CliIO["env"], stdoutIsTTY: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !["0", "false"].includes(force.toLowerCase());
  if (env.NO_COLOR) return false;
  return stdoutIsTTY;
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  // Loaded on demand: a scan should not pay for the probe's modules at start-up.
  if (argv[0] === "probe") return (await import("../probe/cli.js")).runProbeCommand(argv.slice(1), io);
  if (argv[0] === "help" && argv[1] === "probe") return (await import("../probe/cli.js")).runProbeCommand(["--help"], io);
  // The language server speaks JSON-RPC on the process's own stdin and stdout.
  if (argv[0] === "server") return (await import("../server/server.js")).runServer(argv.slice(1), { input: process.stdin, output: process.stdout, stderr: io.stderr, cwd: io.cwd, env: io.env });
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (error instanceof ArgsError) {
      io.stderr(`stalecheck: ${error.message}\nRun \`stalecheck --help\` for usage.\n`);
      return EXIT_ERROR;
    }
    throw error;
  }
  switch (args.command) {
    case "help":
      io.stdout(HELP);
      return EXIT_OK;
    case "version":
      io.stdout(`stalecheck ${TOOL_VERSION}\n`);
      return EXIT_OK;
    case "rules":
      if (args.format === "json") {
        io.stdout(`${JSON.stringify(RULES.map((r) => ({ code: r.meta.code, name: r.meta.name, defaultSeverity: r.meta.defaultSeverity, summary: r.meta.docs.summary })), null, 2)}\n`);
      } else {
        for (const rule of RULES) io.stdout(`${rule.meta.code}  ${rule.meta.name.padEnd(34)} ${rule.meta.defaultSeverity.padEnd(8)} ${rule.meta.docs.summary}\n`);
      }
      return EXIT_OK;
    case "explain": {
      const rule = findRule(args.rule);
      if (!rule) {
        io.stderr(`stalecheck: no rule "${escapeControl(args.rule)}"; \`stalecheck rules\` lists them\n`);
        return EXIT_ERROR;
      }
      io.stdout(ruleDocMarkdown(rule.meta));
      return EXIT_OK;
    }
    case "check":
    case "endpoints":
      break;
  }
  const progress = args.progress && io.stderrIsTTY ? progressBar(io.stderr) : null;
  try {
    // Refused outputs (links, paths leaving the working directory) fail before the scan.
    if (args.output !== null) checkOutputPath(args.output, io.cwd, "--output");
    if (args.writeBaseline !== null) checkOutputPath(args.writeBaseline, io.cwd, "--write-baseline");
    const plan = planCheck(args, io.cwd);
    const say = (kind: "warning" | "hint", text: string) => {
      if (args.verbosity !== "quiet") io.stderr(`stalecheck: ${kind}: ${text}\n`);
    };
    const verbose = (text: string) => {
      if (args.verbosity === "verbose") io.stderr(`stalecheck: ${text}\n`);
    };
    verbose(`configuration: ${plan.configFile ? shownPath(io.cwd, plan.configFile) : "none found"}; project root: ${shownPath(io.cwd, plan.projectRoot)}`);
    verbose(`rules: ${(plan.scan.select ?? []).join(", ")}`);
    let stdin: { path: string; text: string } | undefined;
    if (args.stdinFilename !== null) {
      if (!io.readStdin) throw new UsageError("--stdin-filename: standard input cannot be read here");
      stdin = { path: args.stdinFilename, text: await io.readStdin() };
    }
    if (args.fix || args.diff) {
      const scanOptions = { ...plan.scan, ...(progress ? { onFile: progress.update } : {}), ...(args.jobs !== undefined ? { jobs: args.jobs } : {}), ...(args.fileTimeoutMs !== undefined ? { fileTimeoutMs: args.fileTimeoutMs } : {}), ...cacheOptions(args.cacheDir, io, plan.projectRoot) };
      // Loaded on demand, as the probe: a plain scan does not pay for the fixers.
      const { runFixCommand } = await import("./fixCommand.js");
      return await runFixCommand(args, scanOptions, plan.failOn, io, () => progress?.finish());
    }
    const result = await scan({
      ...plan.scan,
      ...(stdin ? { stdin } : {}),
      ...(progress ? { onFile: progress.update } : {}),
      ...(args.jobs !== undefined ? { jobs: args.jobs } : {}),
      ...(args.fileTimeoutMs !== undefined ? { fileTimeoutMs: args.fileTimeoutMs } : {}),
      ...cacheOptions(stdin ? null : args.cacheDir, io, plan.projectRoot),
    });
    progress?.finish();
    if (result.extraction?.cacheUnavailable) say("warning", `running without the cache: ${escapeControl(result.extraction.cacheUnavailable)}`);
    if (result.extraction?.cacheWriteError) {
      say("warning", `could not write the facts cache (${escapeControl(result.extraction.cacheWriteError)}); choose another --cache-dir or pass --no-cache`);
    }
    if (result.extraction) {
      const { parsed, cached, analysisCached } = result.extraction;
      verbose(`${result.summary.files} files: ${analysisCached ? "the whole analysis came from the cache" : `${parsed} parsed, ${cached} from the cache`}; ${result.summary.durationMs} ms`);
    }
    if (result.summary.files === 0 && result.errors.length === 0) {
      say("warning", `no Python files found in ${args.paths.length > 0 ? args.paths.map((p) => escapeControl(p)).join(", ") : "."} (stalecheck reads *.py files; see --exclude and .gitignore)`);
    } else if (result.djangoFiles === 0 && (result.analysedFiles ?? 0) > 0 && stdin === undefined && namesDirectoriesOnly(args.paths, io.cwd)) {
      // Not for files named one by one (pre-commit's staged files): a plain module among them is no surprise.
      say("hint", `none of the ${result.summary.files} files scanned imports Django or Django REST Framework: stalecheck looks for races in Django code; is this the project's directory?`);
    }
    // A scan that could read none of its files says nothing about the code: not a pass.
    const unanalysed = unanalysedProblem(result);
    if (args.command === "endpoints") {
      const listing = args.format === "json" ? formatEndpointsJson(result) : formatEndpointsText(result);
      if (args.output !== null) writeOutputFile(args.output, io.cwd, "--output", listing);
      else io.stdout(listing);
      if (unanalysed) throw new UsageError(`${unanalysed}; \`stalecheck check\` lists why for each`);
      return EXIT_OK;
    }
    if (args.writeBaseline !== null) {
      if (unanalysed) throw new UsageError(`${unanalysed}; no baseline written (\`stalecheck check\` lists why for each file)`);
      writeOutputFile(args.writeBaseline, io.cwd, "--write-baseline", formatBaseline(result.findings, { projectPath: projectPaths(result) }));
      io.stderr(`stalecheck: wrote ${result.findings.length} ${result.findings.length === 1 ? "finding" : "findings"} to the baseline ${escapeControl(args.writeBaseline)}\n`);
      return EXIT_OK;
    }
    const color = args.output === null && useColor(io.env, io.stdoutIsTTY);
    const report = renderReport(args.format, result, { color, cwd: io.cwd, quiet: args.verbosity === "quiet", statistics: args.statistics });
    if (args.output !== null) writeOutputFile(args.output, io.cwd, "--output", report);
    else io.stdout(report);
    if (unanalysed) throw new UsageError(`${unanalysed}; the report lists why for each`);
    if (args.exitZero) return EXIT_OK;
    return atOrAbove(result.findings, plan.failOn).length > 0 ? EXIT_FINDINGS : EXIT_OK;
  } catch (error) {
    progress?.finish();
    if (error instanceof UsageError) {
      io.stderr(`stalecheck: ${escapeControl(error.message)}\n`);
      if (error instanceof ConfigError && error.source) io.stderr(`${caretFrame(error.source)}\n`);
      return EXIT_ERROR;
    }
    io.stderr(`stalecheck: internal error: ${internalErrorText(error)}\n`);
    return EXIT_ERROR;
  }
}

function namesDirectoriesOnly(paths: readonly string[], cwd: string): boolean {
  return (paths.length > 0 ? paths : ["."]).every((p) => {
    try {
      return statSync(resolve(cwd, p)).isDirectory();
    } catch {
      return false;
    }
  });
}

/** A line of a file with a caret under a column: control characters escaped, cut to about 100 characters around the column. */
export function caretFrame(source: { line: number; column: number; text: string }): string {
  const { line, column, text } = source;
  const from = Math.max(0, column - 60);
  const cut = (from > 0 ? "…" : "") + escapeControl(text.slice(from, from + 100)) + (text.length > from + 100 ? "…" : "");
  const before = (from > 0 ? "…" : "") + escapeControl(text.slice(from, column - 1));
  const gutter = String(line);
  return `  ${gutter} | ${cut}\n  ${" ".repeat(gutter.length)} | ${" ".repeat(before.length)}^`;
}

/** An unexpected error's message (escaped: it may quote the scanned tree) and stack frames. */
function internalErrorText(error: unknown): string {
  if (!(error instanceof Error)) return escapeControl(String(error));
  const head = String(error);
  const stack = error.stack ?? head;
  return stack.startsWith(head) ? escapeControl(head) + escapeControlKeepingLines(stack.slice(head.length)) : escapeControlKeepingLines(stack);
}
