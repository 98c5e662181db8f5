/** `stalecheck probe`: reads the scenario file, checks the target, runs the rounds, reports. */
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { TOOL_VERSION } from "../version.js";
import { type ProbeCli, type ProbeConfig, PROBE_HELP, ProbeUsageError, type Scenario, buildProbeConfig, parseProbeArgs, parseScenario } from "./options.js";
import { escapeControl, escapeControlKeepingLines as escapeReport } from "../report/escape.js";
import { escapeJson } from "./escape.js";
import { Secrets, isSensitiveHeader } from "./redact.js";
import { probeHeader, probeJson, probeSummary, roundLine, verdictOf } from "./report.js";
import { basicAuthorization, runProbe as runRounds } from "./run.js";
import { type Resolver, TargetError, resolveTarget } from "./target.js";

export interface ProbeIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

export const PROBE_EXIT = { ok: 0, race: 1, error: 2 } as const;

/** Every secret the configuration holds, so that no output can contain one. */
export function secretsOf(config: ProbeConfig): Secrets {
  const secrets = new Secrets();
  const specs = [config.request, config.setup, config.mutation, config.verify];
  for (const user of [config.user, ...specs.map((s) => s?.user ?? null)]) {
    if (!user) continue;
    secrets.add(user.password);
    secrets.add(`${user.username}:${user.password}`);
    secrets.add(basicAuthorization(user).slice("Basic ".length));
  }
  for (const [name, value] of [...config.headers, ...specs.flatMap((s) => s?.headers ?? [])]) {
    if (isSensitiveHeader(name)) secrets.add(value.replace(/^(Basic|Bearer|Token)\s+/i, ""));
  }
  return secrets;
}

export async function runProbeCommand(argv: readonly string[], io: ProbeIO, resolver?: Resolver): Promise<number> {
  let config: ProbeConfig;
  let cli: ProbeCli;
  try {
    cli = parseProbeArgs(argv);
    if (cli.help) {
      io.stdout(PROBE_HELP);
      return PROBE_EXIT.ok;
    }
    let scenario: Scenario | null = null;
    if (cli.scenario !== undefined) scenario = parseScenario(readText(resolve(io.cwd, cli.scenario), "--scenario"), cli.scenario);
    const bodyFileContent = cli.bodyFile !== undefined ? readText(resolve(io.cwd, cli.bodyFile), "--body-file") : undefined;
    config = buildProbeConfig({ cli, scenario, env: io.env, ...(bodyFileContent !== undefined ? { bodyFileContent } : {}) });
  } catch (error) {
    if (error instanceof ProbeUsageError) {
      // The message may quote the command line or a scenario file, which may hold anything.
      io.stderr(`stalecheck probe: ${escapeControl(error.message)}\nRun \`stalecheck probe --help\` for usage.\n`);
      return PROBE_EXIT.error;
    }
    throw error;
  }
  const secrets = secretsOf(config);
  // Secrets out first, then what is left of control characters (the report escapes its values
  // already; this catches anything else), line feeds kept: the text is made of lines.
  const out = (text: string) => io.stdout(escapeReport(secrets.redact(text)));
  const err = (text: string) => io.stderr(escapeReport(secrets.redact(text)));
  const json = (report: string) => escapeJson(secrets.redact(report));
  const outputPath = config.output !== null ? resolve(io.cwd, config.output) : null;
  // Checked before any request is sent: the rounds change the target's state, so they should
  // not be spent on a report that cannot be written.
  const unwritable = outputPath !== null ? whyUnwritable(outputPath) : null;
  if (unwritable) {
    err(`stalecheck probe: --output: cannot write ${outputPath}: ${unwritable}\n`);
    return PROBE_EXIT.error;
  }

  let address: string;
  try {
    address = await resolveTarget(config.target, config.allowRemote, resolver);
  } catch (error) {
    if (error instanceof TargetError) {
      err(`stalecheck probe: ${error.message}\n`);
      return PROBE_EXIT.error;
    }
    throw error;
  }

  const streaming = config.format === "text" && config.output === null;
  if (streaming) out(`${probeHeader(config)}\n`);
  let outcome;
  try {
    outcome = await runRounds(config, address, { onRound: (round) => streaming && out(roundLine(round, config.concurrency)) });
  } catch (error) {
    err(`stalecheck probe: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return PROBE_EXIT.error;
  }
  const text = () => `${probeHeader(config)}\n${outcome.rounds.map((r) => roundLine(r, config.concurrency)).join("")}\n${probeSummary(outcome)}`;
  if (outputPath !== null) {
    const report = config.format === "json" ? json(probeJson(config, outcome, TOOL_VERSION)) : escapeReport(secrets.redact(text()));
    try {
      writeFileSync(outputPath, report);
    } catch (error) {
      // The path was writable before the rounds: print the report rather than lose it.
      err(`stalecheck probe: --output: cannot write ${outputPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; the report follows on standard output\n`);
      io.stdout(report);
      return PROBE_EXIT.error;
    }
    out(probeSummary(outcome));
  } else if (config.format === "json") {
    io.stdout(json(probeJson(config, outcome, TOOL_VERSION)));
  } else {
    out(`\n${probeSummary(outcome)}`);
  }
  const verdict = verdictOf(outcome);
  return verdict === "race" ? PROBE_EXIT.race : verdict === "error" ? PROBE_EXIT.error : PROBE_EXIT.ok;
}

/** Why `path` cannot be written as a file (a missing or read-only directory, a directory), or null. */
function whyUnwritable(path: string): string | null {
  try {
    if (existsSync(path)) {
      if (statSync(path).isDirectory()) return "it is a directory";
      accessSync(path, constants.W_OK);
    } else {
      accessSync(dirname(path), constants.W_OK);
    }
    return null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}

function readText(path: string, option: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ProbeUsageError(`${option}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
