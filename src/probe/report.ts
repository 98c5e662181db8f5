/**
 * Probe reports, text and JSON, per round and overall. Both are passed through the
 * caller's Secrets before they leave the process; neither ever includes credentials,
 * Authorization headers or response bodies. In the text report every value that comes from
 * outside (the target's answers, the scenario, the command line) has its control characters
 * escaped (see escape.ts); JSON escapes them itself, and the caller passes it through escapeJson.
 */
import { escapeControl } from "../report/escape.js";
import { PLACEHOLDER, type ProbeConfig, type RequestTemplate } from "./options.js";
import { displayHeader } from "./redact.js";
import type { ProbeOutcome, RoundResult } from "./run.js";

export type Verdict = "race" | "no-race" | "error";

export function verdictOf(outcome: ProbeOutcome): Verdict {
  if (outcome.rounds.some((r) => r.violations.length > 0)) return "race";
  if (outcome.rounds.length === 0 || outcome.rounds.some((r) => r.errors.length > 0) || outcome.stoppedBy === "setup-failed") return "error";
  return "no-race";
}

/**
 * The request line as sent: --var values filled in (percent-encoded as on the wire), while
 * {{round}} and {{setup.…}} stay as written, since they change from round to round.
 */
export function requestLine(config: ProbeConfig, spec: RequestTemplate): string {
  const path = spec.path.replace(PLACEHOLDER, (placeholder, name: string) => {
    const value = Object.hasOwn(config.vars, name) ? config.vars[name] : undefined;
    if (value === undefined) return placeholder;
    try {
      return encodeURI(value);
    } catch {
      return value;
    }
  });
  return `${spec.method} ${path}`;
}

function who(config: ProbeConfig, spec: RequestTemplate): string | null {
  const user = spec.user ?? config.user;
  return user ? user.username : null;
}

export function expectationTexts(config: ProbeConfig): string[] {
  const out: string[] = [];
  if (config.maxSuccesses !== null) out.push(`at most ${config.maxSuccesses} success${config.maxSuccesses === 1 ? "" : "es"} (${config.successStatus}) per round`);
  for (const c of config.comparisons) out.push(`verify: ${c.text}`);
  return out;
}

export function probeJson(config: ProbeConfig, outcome: ProbeOutcome, toolVersion: string): string {
  const spec = (s: RequestTemplate | null, extra: Record<string, unknown> = {}) =>
    s && { line: requestLine(config, s), user: who(config, s), headers: s.headers.map(([n, v]) => displayHeader(n, v)), hasBody: s.body !== null, ...extra };
  const violated = outcome.rounds.filter((r) => r.violations.length > 0);
  const report = {
    version: 1,
    tool: { name: "stalecheck probe", version: toolVersion },
    target: config.target.origin,
    request: spec(config.request),
    concurrency: config.concurrency,
    roundsPlanned: config.rounds,
    setup: spec(config.setup),
    mutation: spec(config.mutation, config.mutation ? { offsetMs: config.mutation.offsetMs } : {}),
    verify: spec(config.verify),
    headers: config.headers.map(([n, v]) => displayHeader(n, v)),
    expectations: expectationTexts(config),
    limits: { maxRequests: config.maxRequests, maxDurationMs: config.maxDurationMs, timeoutMs: config.timeoutMs, settleMs: config.settleMs },
    rounds: outcome.rounds.map((r) => ({
      round: r.round,
      setupValues: r.setupValues,
      statuses: r.answers.map((a) => a.status),
      successes: r.successes,
      releaseSpreadMs: r.releaseSpreadMs,
      answersMs: r.answers.map((a) => a.answeredMs),
      mutation: r.mutation,
      verify: r.verify && { status: r.verify.status, results: r.verify.results.map((x) => ({ expectation: x.expectation, actual: x.actual ?? null, holds: x.holds })) },
      violations: r.violations,
      errors: r.errors,
      durationMs: r.durationMs,
    })),
    summary: {
      verdict: verdictOf(outcome),
      roundsRun: outcome.rounds.length,
      roundsViolated: violated.length,
      firstViolationRound: violated[0]?.round ?? null,
      roundsWithErrors: outcome.rounds.filter((r) => r.errors.length > 0).length,
      stoppedBy: outcome.stoppedBy,
      requests: outcome.requests,
      durationMs: outcome.durationMs,
    },
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function probeHeader(config: ProbeConfig): string {
  const lines: string[] = [];
  const as = (s: RequestTemplate) => (who(config, s) ? ` (as ${escapeControl(who(config, s)!)})` : "");
  const line = (s: RequestTemplate) => escapeControl(requestLine(config, s));
  lines.push(`stalecheck probe: ${line(config.request)}${as(config.request)} ×${config.concurrency} per round, up to ${config.rounds} round${config.rounds === 1 ? "" : "s"}, against ${escapeControl(config.target.origin)}`);
  if (config.setup) lines.push(`  setup     ${line(config.setup)}${as(config.setup)}`);
  if (config.mutation) lines.push(`  mutation  ${line(config.mutation)}${as(config.mutation)} at ${config.mutation.offsetMs >= 0 ? "+" : ""}${config.mutation.offsetMs} ms from the release`);
  if (config.verify) lines.push(`  verify    ${line(config.verify)}${as(config.verify)}`);
  lines.push(`  expect    ${expectationTexts(config).map(escapeControl).join("; ")}`);
  return `${lines.join("\n")}\n`;
}

export function roundLine(r: RoundResult, concurrency: number): string {
  const state = r.violations.length > 0 ? "RACE" : r.errors.length > 0 ? "ERROR" : "ok";
  const counts = new Map<string, number>();
  for (const a of r.answers) {
    const key = a.status === null ? "failed" : String(a.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const parts = [`round ${r.round}: ${state.padEnd(5)}`];
  if (r.answers.length > 0) {
    parts.push(`statuses ${[...counts].map(([s, c]) => `${s}×${c}`).join(" ")}`);
    parts.push(`successes ${r.successes}/${concurrency}`);
    if (r.releaseSpreadMs !== null) parts.push(`release spread ${r.releaseSpreadMs} ms`);
    const answered = r.answers.map((a) => a.answeredMs).filter((t): t is number => t !== null);
    if (answered.length > 0) parts.push(`answers ${fmtMs(Math.min(...answered))}–${fmtMs(Math.max(...answered))}`);
  }
  if (r.mutation) parts.push(`mutation ${r.mutation.status ?? "failed"} sent ${fmtMs(r.mutation.sentMs)} answered ${fmtMs(r.mutation.answeredMs)}`);
  const setupValues = Object.entries(r.setupValues);
  if (setupValues.length > 0) parts.push(`[${setupValues.map(([k, v]) => `${escapeControl(k)}=${escapeControl(v)}`).join(", ")}]`);
  const lines = [parts.join("  ")];
  if (r.verify) {
    for (const x of r.verify.results) {
      const found = x.actual === undefined ? "nothing" : escapeControl(JSON.stringify(x.actual));
      lines.push(`    verify ${escapeControl(x.expectation)}: found ${found} ${x.holds === true ? "(holds)" : x.holds === false ? "(VIOLATED)" : "(undecided)"}`);
    }
  }
  for (const v of r.violations) lines.push(`    violated: ${escapeControl(v)}`);
  for (const e of r.errors) lines.push(`    error: ${escapeControl(e)}`);
  return `${lines.join("\n")}\n`;
}

function fmtMs(ms: number | null): string {
  if (ms === null) return "—";
  return Math.abs(ms) >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function probeSummary(outcome: ProbeOutcome): string {
  const verdict = verdictOf(outcome);
  const violated = outcome.rounds.filter((r) => r.violations.length > 0);
  const errors = outcome.rounds.filter((r) => r.errors.length > 0).length;
  const stop: Record<string, string> = {
    completed: "", violation: " (stopped at the first violation)", "max-requests": " (stopped: --max-requests reached)",
    "max-duration": " (stopped: --max-duration reached)", "setup-failed": " (stopped: the setup request failed)",
  };
  const head =
    verdict === "race"
      ? `RACE: expectations violated in ${violated.length} of ${outcome.rounds.length} round${outcome.rounds.length === 1 ? "" : "s"} (first in round ${violated[0]!.round})`
      : verdict === "no-race"
        ? `no race: every expectation held in ${outcome.rounds.length} round${outcome.rounds.length === 1 ? "" : "s"}`
        : `inconclusive: ${outcome.rounds.length === 0 ? "no round could run" : `${errors} of ${outcome.rounds.length} rounds could not be judged`}`;
  return `${head}${stop[outcome.stoppedBy]}; ${outcome.requests} requests in ${(outcome.durationMs / 1000).toFixed(1)} s.\n`;
}
