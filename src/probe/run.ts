/**
 * Runs the rounds of a probe: setup, synchronised burst (with the mutation at its offset),
 * verification, expectations. Bounded by the request budget and the duration, and talks
 * only to the one address the target resolved to.
 */
import { type ComparisonResult, evaluateComparison, lookupPath, parseStatusSet } from "./expect.js";
import { HttpError, type HttpResponse, PendingRequest, type WireRequest, encodeRequest } from "./http.js";
import { type Credential, PLACEHOLDER, type ProbeConfig, type RequestTemplate, headerValueProblem, placeholders } from "./options.js";

export interface TimedAnswer {
  status: number | null;
  error: string | null;
  /** Milliseconds from the release of the burst (negative: before it). */
  sentMs: number | null;
  answeredMs: number | null;
}

export interface RoundResult {
  round: number;
  /** {{setup.…}} values the round used. */
  setupValues: Record<string, string>;
  setupStatus: number | null;
  answers: TimedAnswer[];
  successes: number;
  /** Time between the first and the last release write of the burst. */
  releaseSpreadMs: number | null;
  mutation: TimedAnswer | null;
  verify: { status: number | null; results: ComparisonResult[] } | null;
  /** Expectations this round broke: the race showed. */
  violations: string[];
  /** Why the round could not run or be judged (setup or verification failed, a request failed). */
  errors: string[];
  durationMs: number;
}

export type StopReason = "completed" | "violation" | "max-requests" | "max-duration" | "setup-failed";

export interface ProbeOutcome {
  rounds: RoundResult[];
  stoppedBy: StopReason;
  requests: number;
  durationMs: number;
}

export interface RunHooks {
  /** Called after each round (progress output). */
  onRound?: (round: RoundResult) => void;
  now?: () => number;
}

class RoundError extends Error {}

export async function runProbe(config: ProbeConfig, address: string, hooks: RunHooks = {}): Promise<ProbeOutcome> {
  const now = hooks.now ?? (() => performance.now());
  const start = now();
  const deadline = start + config.maxDurationMs;
  const isSuccess = parseStatusSet(config.successStatus);
  const mutationAccepted = parseStatusSet(config.mutation?.acceptStatus ?? "2xx");
  const perRound = config.concurrency + (config.setup ? 1 : 0) + (config.mutation ? 1 : 0) + (config.verify ? 1 : 0);
  const rounds: RoundResult[] = [];
  let requests = 0;
  let stoppedBy: StopReason = "completed";
  const timeout = () => Math.max(1, Math.min(config.timeoutMs, deadline - now()));

  for (let n = 1; n <= config.rounds; n++) {
    if (requests + perRound > config.maxRequests) {
      stoppedBy = "max-requests";
      break;
    }
    if (now() >= deadline) {
      stoppedBy = "max-duration";
      break;
    }
    const roundStart = now();
    const result: RoundResult = {
      round: n, setupValues: {}, setupStatus: null, answers: [], successes: 0, releaseSpreadMs: null,
      mutation: null, verify: null, violations: [], errors: [], durationMs: 0,
    };
    rounds.push(result);
    const send = async (spec: WireRequest): Promise<HttpResponse> => {
      requests++;
      const pending = new PendingRequest(config.target, address, encode(config, spec), timeout());
      await pending.prepare();
      pending.release();
      return pending.response;
    };
    try {
      let setupAnswer: unknown = undefined;
      const values = (name: string): string | undefined => {
        if (name === "round") return String(n);
        if (Object.hasOwn(config.vars, name)) return config.vars[name];
        if (name.startsWith("setup.")) {
          const found = lookupPath(setupAnswer, name.slice(6).split("."));
          if (!found.found || found.value === null || found.value === undefined) return undefined;
          const text = typeof found.value === "string" ? found.value : JSON.stringify(found.value);
          result.setupValues[name.slice(6)] = text;
          return text;
        }
        return undefined;
      };
      if (config.setup) {
        const answer = await send(wire(config, config.setup, values)).catch((error: Error) => {
          throw new RoundError(`setup request failed: ${error.message}`);
        });
        result.setupStatus = answer.status;
        if (answer.status < 200 || answer.status > 299) throw new RoundError(`setup request answered ${answer.status}`);
        setupAnswer = parseJson(answer.body);
      }
      const raceSpec = wire(config, config.request, values);
      const mutationSpec = config.mutation ? wire(config, config.mutation, values) : null;
      const verifySpec = config.verify ? wire(config, config.verify, values) : null;

      // Every request of the burst sends the same bytes: encoded once.
      const raceBytes = encode(config, raceSpec);
      const burst = Array.from({ length: config.concurrency }, () => new PendingRequest(config.target, address, raceBytes, timeout()));
      const mutation = mutationSpec ? new PendingRequest(config.target, address, encode(config, mutationSpec), timeout()) : null;
      const all = mutation ? [...burst, mutation] : burst;
      requests += all.length;
      const prepared = await Promise.allSettled(all.map((p) => p.prepare()));
      const failed = prepared.find((p): p is PromiseRejectedResult => p.status === "rejected");
      if (failed) {
        for (const p of all) p.abort("round abandoned");
        throw new RoundError(`could not open the burst's connections: ${(failed.reason as Error).message}`);
      }
      await sleep(config.settleMs);

      const offset = config.mutation?.offsetMs ?? 0;
      if (mutation && offset < 0) {
        mutation.release();
        await sleep(-offset);
      }
      for (const p of burst) p.release();
      const releaseStart = burst[0]!.releasedAt!;
      result.releaseSpreadMs = round2(burst[burst.length - 1]!.releasedAt! - releaseStart);
      if (mutation && offset >= 0) {
        await sleep(offset);
        mutation.release();
      }
      const settled = await Promise.allSettled(all.map((p) => p.response));
      const timed = (p: PendingRequest, s: PromiseSettledResult<HttpResponse>): TimedAnswer => ({
        status: s.status === "fulfilled" ? s.value.status : null,
        error: s.status === "rejected" ? (s.reason as Error).message : null,
        sentMs: p.releasedAt === null ? null : round2(p.releasedAt - releaseStart),
        answeredMs: p.answeredAt === null ? null : round2(p.answeredAt - releaseStart),
      });
      result.answers = burst.map((p, i) => timed(p, settled[i]!));
      if (mutation) result.mutation = timed(mutation, settled[burst.length]!);
      result.successes = result.answers.filter((a) => a.status !== null && isSuccess(a.status)).length;
      const failures = result.answers.filter((a) => a.error !== null);
      if (failures.length > 0) result.errors.push(`${failures.length} race request(s) failed: ${failures[0]!.error}`);
      if (config.maxSuccesses !== null && result.successes > config.maxSuccesses) {
        result.violations.push(`${result.successes} of ${config.concurrency} requests succeeded, at most ${config.maxSuccesses} allowed`);
      }
      if (result.mutation && (result.mutation.status === null || !mutationAccepted(result.mutation.status))) {
        result.errors.push(`mutation ${result.mutation.status === null ? `failed: ${result.mutation.error}` : `answered ${result.mutation.status}`}`);
      }

      if (verifySpec) {
        const answer = await send(verifySpec).catch((error: Error) => {
          throw new RoundError(`verification request failed: ${error.message}`);
        });
        result.verify = { status: answer.status, results: [] };
        if (answer.status < 200 || answer.status > 299) throw new RoundError(`verification request answered ${answer.status}`);
        const document = parseJson(answer.body);
        if (document === undefined) throw new RoundError("verification answer is not JSON");
        result.verify.results = config.comparisons.map((c) => evaluateComparison(c, document));
        for (const r of result.verify.results) {
          if (r.holds === false) result.violations.push(`${r.expectation} does not hold: found ${JSON.stringify(r.actual)}`);
          if (r.holds === null) result.errors.push(`${r.expectation}: the verification answer has no such path`);
        }
      }
    } catch (error) {
      if (!(error instanceof RoundError)) throw error;
      result.errors.push(error.message);
    }
    result.durationMs = Math.round(now() - roundStart);
    hooks.onRound?.(result);
    const setupOk = result.setupStatus !== null && result.setupStatus >= 200 && result.setupStatus <= 299;
    if (config.setup && !setupOk) {
      // Without its setup a round tests nothing; repeating it would only hammer the target.
      stoppedBy = "setup-failed";
      break;
    }
    if (result.violations.length > 0 && config.stopOnViolation) {
      stoppedBy = "violation";
      break;
    }
  }
  return { rounds, stoppedBy, requests, durationMs: Math.round(now() - start) };
}

/**
 * A concrete request: placeholders filled, the default credentials and headers applied. The
 * setup request does not get the global headers that use {{setup.…}} values: it is the request
 * that produces them.
 */
export function wire(config: ProbeConfig, spec: RequestTemplate, values: (name: string) => string | undefined): WireRequest {
  const fill = (text: string, where: string, encode: boolean): string =>
    text.replace(PLACEHOLDER, (_, name: string) => {
      const value = values(name);
      if (value === undefined) throw new RoundError(`${where}: no value for {{${name}}}${name.startsWith("setup.") ? " in the setup answer" : ""}`);
      if (/[\r\n]/.test(value)) throw new RoundError(`${where}: the value of {{${name}}} contains a line break`);
      if (!encode) return value;
      try {
        return encodeURI(value);
      } catch {
        throw new RoundError(`${where}: the value of {{${name}}} is not valid Unicode (a lone surrogate)`);
      }
    });
  const headers: [string, string][] = [];
  const user = spec.user ?? config.user;
  if (user) headers.push(["Authorization", basicAuthorization(user)]);
  const global = spec === config.setup ? config.headers.filter(([, value]) => !usesSetupValues(value)) : config.headers;
  for (const [name, value] of [...global, ...spec.headers]) {
    const index = headers.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    const filled = fill(value, `header ${name}`, false);
    // A placeholder's value (a --var, a setup answer) may hold what the option parser refuses in a header.
    const problem = headerValueProblem(filled);
    if (problem) throw new RoundError(`header ${name}: ${problem}`);
    const entry: [string, string] = [name, filled];
    if (index >= 0) headers[index] = entry;
    else headers.push(entry);
  }
  const path = fill(spec.path, "path", true);
  if (/\s/.test(path)) throw new RoundError(`path "${path}" contains white space`);
  return { method: spec.method, path, headers, body: spec.body === null ? null : fill(spec.body, "body", false) };
}

/** The request's bytes; a head that cannot be sent as written fails the round, not the run. */
function encode(config: ProbeConfig, spec: WireRequest): { ahead: Buffer; release: Buffer } {
  try {
    return encodeRequest(config.target, spec);
  } catch (error) {
    if (error instanceof HttpError) throw new RoundError(error.message);
    throw error;
  }
}

/** The text names a {{setup.…}} value. */
export function usesSetupValues(text: string): boolean {
  return placeholders(text).some((name) => name.startsWith("setup."));
}

export function basicAuthorization(user: Credential): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`, "utf8").toString("base64")}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}
