/**
 * `stalecheck probe` options: the command line, a scenario file (JSON or YAML), and the one
 * validated ProbeConfig they merge into (the command line wins). Pure: the caller reads
 * files and passes the environment in.
 */
import { type Comparison, ExpectationError, parseComparison, parseStatusSet } from "./expect.js";
import { describeCharacter } from "./escape.js";
import { type Target, TargetError, parseTarget } from "./target.js";
import { YamlError, parseYaml } from "./yaml.js";

export class ProbeUsageError extends Error {}

export interface Credential {
  username: string;
  password: string;
}

export interface RequestTemplate {
  method: string;
  /** May hold {{placeholders}}; so may header values and the body. */
  path: string;
  headers: [string, string][];
  body: string | null;
  /** null: the probe's default --user. */
  user: Credential | null;
}

export interface MutationTemplate extends RequestTemplate {
  /** Milliseconds after the burst is released (negative: that long before it). */
  offsetMs: number;
  /** Statuses that mean the mutation ran as intended ("2xx" unless told, e.g. "2xx,409" when losing the race is fine). */
  acceptStatus: string;
}

export interface ProbeConfig {
  target: Target;
  allowRemote: boolean;
  user: Credential | null;
  /** Sent with every request (race, setup, mutation, verification). */
  headers: [string, string][];
  vars: Record<string, string>;
  request: RequestTemplate;
  concurrency: number;
  rounds: number;
  setup: RequestTemplate | null;
  mutation: MutationTemplate | null;
  verify: RequestTemplate | null;
  maxSuccesses: number | null;
  successStatus: string;
  comparisons: Comparison[];
  maxRequests: number;
  maxDurationMs: number;
  timeoutMs: number;
  /** Pause between sending the partial requests and releasing their last bytes. */
  settleMs: number;
  stopOnViolation: boolean;
  format: "text" | "json";
  output: string | null;
}

export const LIMITS = {
  concurrency: { min: 1, max: 100, default: 2 },
  rounds: { min: 1, max: 1000, default: 1 },
  maxRequests: { min: 1, max: 100_000, default: 1000 },
  maxDurationSeconds: { min: 1, max: 3600, default: 300 },
  timeoutSeconds: { min: 0.1, max: 600, default: 30 },
  settleMs: { min: 0, max: 5000, default: 100 },
  offsetMs: { min: -60_000, max: 60_000 },
} as const;

/** The command line, before merging: every field undefined when not given. */
export interface ProbeCli {
  help: boolean;
  scenario?: string;
  target?: string;
  user?: string;
  request?: string;
  headers: string[];
  body?: string;
  bodyFile?: string;
  json?: string;
  concurrency?: string;
  rounds?: string;
  setup?: string;
  setupUser?: string;
  setupBody?: string;
  setupJson?: string;
  mutation?: string;
  mutationUser?: string;
  mutationBody?: string;
  mutationJson?: string;
  mutationOffset?: string;
  mutationStatus?: string;
  verify?: string;
  verifyUser?: string;
  expectMaxSuccess?: string;
  successStatus?: string;
  expects: string[];
  vars: string[];
  maxRequests?: string;
  maxDuration?: string;
  timeout?: string;
  settle?: string;
  stopOnViolation: boolean;
  allowRemote: boolean;
  format?: string;
  output?: string;
}

const VALUE_OPTIONS: Record<string, keyof ProbeCli> = {
  "--scenario": "scenario", "--target": "target", "--user": "user", "--request": "request",
  "--body": "body", "--body-file": "bodyFile", "--json": "json", "--concurrency": "concurrency", "-c": "concurrency",
  "--rounds": "rounds", "-n": "rounds", "--setup": "setup", "--setup-user": "setupUser", "--setup-body": "setupBody",
  "--setup-json": "setupJson", "--mutation": "mutation", "--mutation-user": "mutationUser",
  "--mutation-body": "mutationBody", "--mutation-json": "mutationJson", "--mutation-offset": "mutationOffset", "--mutation-status": "mutationStatus",
  "--verify": "verify", "--verify-user": "verifyUser", "--expect-max-success": "expectMaxSuccess",
  "--success-status": "successStatus", "--max-requests": "maxRequests", "--max-duration": "maxDuration",
  "--timeout": "timeout", "--settle": "settle", "--format": "format", "--output": "output", "-o": "output",
};
const REPEATED_OPTIONS: Record<string, "headers" | "expects" | "vars"> = {
  "--header": "headers", "-H": "headers", "--expect": "expects", "--var": "vars",
};
const FLAG_OPTIONS: Record<string, "help" | "stopOnViolation" | "allowRemote"> = {
  "--help": "help", "-h": "help", "--stop-on-violation": "stopOnViolation", "--allow-remote": "allowRemote",
};

export function parseProbeArgs(argv: readonly string[]): ProbeCli {
  const cli: ProbeCli = { help: false, headers: [], expects: [], vars: [], stopOnViolation: false, allowRemote: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new ProbeUsageError(`${name} needs a value`);
      return value;
    };
    if (name in VALUE_OPTIONS) {
      const key = VALUE_OPTIONS[name]!;
      if ((cli as unknown as Record<string, unknown>)[key] !== undefined) throw new ProbeUsageError(`${name} given more than once`);
      (cli as unknown as Record<string, unknown>)[key] = takeValue();
    } else if (name in REPEATED_OPTIONS) {
      cli[REPEATED_OPTIONS[name]!].push(takeValue());
    } else if (name in FLAG_OPTIONS && eq < 0) {
      cli[FLAG_OPTIONS[name]!] = true;
    } else if (arg.startsWith("-")) {
      throw new ProbeUsageError(`unknown option ${name}`);
    } else {
      throw new ProbeUsageError(`unexpected argument "${arg}" (the request is given with --request "METHOD /path")`);
    }
  }
  const bodies = [cli.body, cli.bodyFile, cli.json].filter((b) => b !== undefined);
  if (bodies.length > 1) throw new ProbeUsageError("give at most one of --body, --body-file and --json");
  if (cli.setupBody !== undefined && cli.setupJson !== undefined) throw new ProbeUsageError("give at most one of --setup-body and --setup-json");
  if (cli.mutationBody !== undefined && cli.mutationJson !== undefined) throw new ProbeUsageError("give at most one of --mutation-body and --mutation-json");
  return cli;
}

// ---------------------------------------------------------------------------------------
// Scenario files

/** A scenario file's content, validated; every field optional (the command line may complete it). */
export interface Scenario {
  target?: string;
  user?: string;
  headers?: [string, string][];
  vars?: Record<string, string>;
  request?: ScenarioRequest;
  concurrency?: number;
  rounds?: number;
  setup?: ScenarioRequest;
  mutation?: ScenarioRequest & { offsetMs?: number; acceptStatus?: string };
  verify?: ScenarioRequest;
  maxSuccesses?: number;
  successStatus?: string;
  comparisons?: string[];
  maxRequests?: number;
  maxDurationSeconds?: number;
  timeoutSeconds?: number;
  settleMs?: number;
  stopOnViolation?: boolean;
}

export interface ScenarioRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: string | null;
  user?: string;
}

const SCENARIO_KEYS = new Set(["target", "user", "headers", "vars", "request", "concurrency", "rounds", "setup", "mutation", "verify", "expect", "limits", "stopOnViolation", "description"]);

/** Parses a scenario file: JSON when it looks like JSON (or the name ends in .json), YAML otherwise. */
export function parseScenario(text: string, fileName: string): Scenario {
  let data: unknown;
  const json = fileName.toLowerCase().endsWith(".json") || /^\s*[{[]/.test(text);
  try {
    data = json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    if (error instanceof YamlError || error instanceof SyntaxError) throw new ProbeUsageError(`${fileName}: ${error.message}`);
    throw error;
  }
  const where = (key: string) => `${fileName}: ${key}`;
  const root = asObject(data, fileName, "the scenario");
  for (const key of Object.keys(root)) if (!SCENARIO_KEYS.has(key)) throw new ProbeUsageError(`${where(key)}: unknown key (known: ${[...SCENARIO_KEYS].join(", ")})`);
  const out: Scenario = {};
  if (root.target !== undefined) out.target = asString(root.target, where("target"));
  if (root.user !== undefined) out.user = asString(root.user, where("user"));
  if (root.headers !== undefined) out.headers = headerMap(root.headers, where("headers"));
  if (root.vars !== undefined) {
    const vars = asObject(root.vars, fileName, "vars");
    out.vars = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, scalarString(v, where(`vars.${k}`))]));
  }
  if (root.concurrency !== undefined) out.concurrency = asNumber(root.concurrency, where("concurrency"));
  if (root.rounds !== undefined) out.rounds = asNumber(root.rounds, where("rounds"));
  if (root.request !== undefined) out.request = scenarioRequest(root.request, where("request"), []);
  if (root.setup !== undefined) out.setup = scenarioRequest(root.setup, where("setup"), []);
  if (root.verify !== undefined) out.verify = scenarioRequest(root.verify, where("verify"), []);
  if (root.mutation !== undefined) {
    const mutation: ScenarioRequest & { offsetMs?: number; acceptStatus?: string } = scenarioRequest(root.mutation, where("mutation"), ["offsetMs", "acceptStatus"]);
    const raw = root.mutation as Record<string, unknown>;
    if (typeof raw === "object" && raw.offsetMs !== undefined) mutation.offsetMs = asNumber(raw.offsetMs, where("mutation.offsetMs"));
    if (typeof raw === "object" && raw.acceptStatus !== undefined) mutation.acceptStatus = statusList(raw.acceptStatus, where("mutation.acceptStatus"));
    out.mutation = mutation;
  }
  if (root.expect !== undefined) {
    const expect = asObject(root.expect, fileName, "expect");
    for (const key of Object.keys(expect)) if (!["maxSuccesses", "successStatus", "verify"].includes(key)) throw new ProbeUsageError(`${where(`expect.${key}`)}: unknown key (known: maxSuccesses, successStatus, verify)`);
    if (expect.maxSuccesses !== undefined) out.maxSuccesses = asNumber(expect.maxSuccesses, where("expect.maxSuccesses"));
    if (expect.successStatus !== undefined) out.successStatus = statusList(expect.successStatus, where("expect.successStatus"));
    if (expect.verify !== undefined) {
      const list = Array.isArray(expect.verify) ? expect.verify : [expect.verify];
      out.comparisons = list.map((v) => asString(v, where("expect.verify")));
    }
  }
  if (root.limits !== undefined) {
    const limits = asObject(root.limits, fileName, "limits");
    for (const [key, value] of Object.entries(limits)) {
      if (!["maxRequests", "maxDurationSeconds", "timeoutSeconds", "settleMs"].includes(key)) throw new ProbeUsageError(`${where(`limits.${key}`)}: unknown key (known: maxRequests, maxDurationSeconds, timeoutSeconds, settleMs)`);
      (out as Record<string, unknown>)[key] = asNumber(value, where(`limits.${key}`));
    }
  }
  if (root.stopOnViolation !== undefined) {
    if (typeof root.stopOnViolation !== "boolean") throw new ProbeUsageError(`${where("stopOnViolation")}: must be true or false`);
    out.stopOnViolation = root.stopOnViolation;
  }
  return out;
}

function scenarioRequest(value: unknown, where: string, extraKeys: string[]): ScenarioRequest {
  if (typeof value === "string") return { ...parseRequestLine(value, where), headers: [], body: null };
  const obj = asObject(value, where, "the request");
  const known = ["method", "path", "line", "headers", "body", "json", "user", ...extraKeys];
  for (const key of Object.keys(obj)) if (!known.includes(key)) throw new ProbeUsageError(`${where}.${key}: unknown key (known: ${known.join(", ")})`);
  let method: string;
  let path: string;
  if (obj.line !== undefined) {
    if (obj.method !== undefined || obj.path !== undefined) throw new ProbeUsageError(`${where}: give either line or method and path`);
    ({ method, path } = parseRequestLine(asString(obj.line, `${where}.line`), where));
  } else {
    if (obj.method === undefined || obj.path === undefined) throw new ProbeUsageError(`${where}: needs method and path (or line: "METHOD /path")`);
    ({ method, path } = parseRequestLine(`${asString(obj.method, `${where}.method`)} ${asString(obj.path, `${where}.path`)}`, where));
  }
  const headers = obj.headers === undefined ? [] : headerMap(obj.headers, `${where}.headers`);
  if (obj.body !== undefined && obj.json !== undefined) throw new ProbeUsageError(`${where}: give body or json, not both`);
  let body: string | null = null;
  if (obj.body !== undefined) body = asString(obj.body, `${where}.body`);
  if (obj.json !== undefined) {
    body = JSON.stringify(obj.json);
    if (!headers.some(([n]) => n.toLowerCase() === "content-type")) headers.push(["Content-Type", "application/json"]);
  }
  const out: ScenarioRequest = { method, path, headers, body };
  if (obj.user !== undefined) out.user = asString(obj.user, `${where}.user`);
  return out;
}

function statusList(value: unknown, where: string): string {
  return Array.isArray(value) ? value.map((v) => scalarString(v, where)).join(",") : scalarString(value, where);
}

function headerMap(value: unknown, where: string): [string, string][] {
  if (Array.isArray(value)) return value.map((v) => parseHeader(asString(v, where)));
  const obj = asObject(value, where, "headers");
  return Object.entries(obj).map(([name, v]) => checkHeader(name, scalarString(v, `${where}.${name}`)));
}

function asObject(value: unknown, where: string, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new ProbeUsageError(`${where}: ${what} must be a mapping`);
  return value as Record<string, unknown>;
}

function asString(value: unknown, where: string): string {
  if (typeof value !== "string") throw new ProbeUsageError(`${where}: must be a string`);
  return value;
}

function scalarString(value: unknown, where: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new ProbeUsageError(`${where}: must be a string or a number`);
}

function asNumber(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ProbeUsageError(`${where}: must be a number`);
  return value;
}

// ---------------------------------------------------------------------------------------
// Pieces shared by both sources

export function parseRequestLine(text: string, where = "--request"): { method: string; path: string } {
  const match = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(text);
  if (!match) throw new ProbeUsageError(`${where}: "${text}" is not "METHOD /path"`);
  const path = match[2]!;
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith("//")) {
    throw new ProbeUsageError(`${where}: "${path}" is a URL; requests go to --target only, so give a path starting with /`);
  }
  if (!path.startsWith("/")) throw new ProbeUsageError(`${where}: the path "${path}" must start with /`);
  return { method: match[1]!.toUpperCase(), path: wirePath(path, where) };
}

/**
 * A path as it goes on the wire: an ASCII control character is refused, and every other
 * character outside ASCII is percent-encoded as UTF-8 (`/café` → `/caf%C3%A9`), outside the
 * {{placeholders}}, whose values are encoded when filled in. The request line is written one
 * byte per character, so U+010A written as it is would become a line feed.
 */
function wirePath(path: string, where: string): string {
  const control = /[\x00-\x1f\x7f]/.exec(path);
  if (control) {
    const code = control[0].charCodeAt(0);
    throw new ProbeUsageError(`${where}: the path holds a control character (${describeCharacter(control[0])}); write it percent-encoded (%${code.toString(16).toUpperCase().padStart(2, "0")})`);
  }
  let out = "";
  let last = 0;
  for (const m of path.matchAll(PLACEHOLDER)) {
    out += percentEncodeNonAscii(path.slice(last, m.index), where) + m[0];
    last = m.index + m[0].length;
  }
  return out + percentEncodeNonAscii(path.slice(last), where);
}

function percentEncodeNonAscii(text: string, where: string): string {
  try {
    return text.replace(/[^\x00-\x7f]+/g, (run) => encodeURIComponent(run));
  } catch {
    throw new ProbeUsageError(`${where}: the path holds text that is not valid Unicode (a lone surrogate)`);
  }
}

/** Headers the probe writes itself (framing, the connection, the origin). */
const RESERVED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection"]);

export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new ProbeUsageError(`header "${text}" is not "Name: value"`);
  return checkHeader(text.slice(0, colon).trim(), text.slice(colon + 1).trim());
}

function checkHeader(name: string, value: string): [string, string] {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ProbeUsageError(`"${name}" is not a valid header name`);
  const problem = headerValueProblem(value);
  if (problem) throw new ProbeUsageError(`header ${name}: ${problem}`);
  if (RESERVED_HEADERS.has(name.toLowerCase())) throw new ProbeUsageError(`header ${name} is set by the probe and cannot be given`);
  return [name, value];
}

/**
 * Why a header value cannot be sent, or null. A request head is written one byte per character
 * (Latin-1), so only tab, printable ASCII and printable Latin-1 (U+00A0–U+00FF) go out as
 * written; a line break, another control character, or a character above U+00FF (whose low
 * byte is what would be sent: U+010A as a line feed) would inject headers or split the request.
 */
export function headerValueProblem(value: string): string | null {
  const bad = /[^\t\x20-\x7e\xa0-\xff]/u.exec(value);
  if (!bad) return null;
  const code = bad[0].codePointAt(0)!;
  const sentAs = code > 0xff ? ` (it would be sent as byte 0x${(code & 0xff).toString(16).padStart(2, "0")}${[0x0a, 0x0d].includes(code & 0xff) ? ", a line break" : ""})` : code === 0x0a || code === 0x0d ? " (a line break)" : " (a control character)";
  return `${describeCharacter(bad[0])}${sentAs} cannot be sent in a header value; only tab, printable ASCII and printable Latin-1 (U+00A0-U+00FF) can`;
}

/** `USER:PASS`, or `env:NAME` to read `USER:PASS` from the environment variable NAME (keeps secrets out of argv and scenario files). */
export function parseCredential(text: string, env: Record<string, string | undefined>, where = "--user"): Credential {
  let value = text;
  if (text.startsWith("env:")) {
    const name = text.slice(4);
    const fromEnv = env[name];
    if (fromEnv === undefined || fromEnv === "") throw new ProbeUsageError(`${where}: environment variable ${name} is not set`);
    value = fromEnv;
  }
  const colon = value.indexOf(":");
  // The message never repeats the value: it may be a password typed in the wrong place.
  if (colon <= 0) throw new ProbeUsageError(`${where}: expected USER:PASS${text.startsWith("env:") ? ` in ${text.slice(4)}` : ""} (or env:VAR naming a variable that holds USER:PASS)`);
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

function parseVar(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new ProbeUsageError(`--var "${text}" is not NAME=VALUE`);
  const name = text.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name === "round" || name === "setup") throw new ProbeUsageError(`--var: "${name}" is not a usable variable name`);
  return [name, text.slice(eq + 1)];
}

function boundedNumber(text: string | number, name: string, limits: { min: number; max: number }, integer: boolean): number {
  const value = typeof text === "number" ? text : Number(text);
  if (typeof text === "string" && text.trim() === "") throw new ProbeUsageError(`${name} needs a number`);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) throw new ProbeUsageError(`${name} must be ${integer ? "an integer" : "a number"}, not "${text}"`);
  if (value < limits.min || value > limits.max) throw new ProbeUsageError(`${name} must be between ${limits.min} and ${limits.max}, not ${value}`);
  return value;
}

function jsonBody(text: string, name: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    throw new ProbeUsageError(`${name} is not valid JSON`);
  }
}

function withContentType(headers: [string, string][], type: string): [string, string][] {
  return headers.some(([n]) => n.toLowerCase() === "content-type") ? headers : [...headers, ["Content-Type", type]];
}

// ---------------------------------------------------------------------------------------
// Merging

export interface MergeInputs {
  cli: ProbeCli;
  scenario: Scenario | null;
  env: Record<string, string | undefined>;
  /** Contents of --body-file, read by the caller. */
  bodyFileContent?: string;
}

export function buildProbeConfig({ cli, scenario, env, bodyFileContent }: MergeInputs): ProbeConfig {
  const s = scenario ?? {};
  const targetText = cli.target ?? s.target;
  if (targetText === undefined) throw new ProbeUsageError("--target URL is required (or target: in the scenario file)");
  let target: Target;
  try {
    target = parseTarget(targetText);
  } catch (error) {
    if (error instanceof TargetError) throw new ProbeUsageError(error.message);
    throw error;
  }
  const userText = cli.user ?? s.user;
  const user = userText === undefined ? null : parseCredential(userText, env, cli.user !== undefined ? "--user" : "user");
  const optionalUser = (text: string | undefined, where: string) => (text === undefined ? null : parseCredential(text, env, where));

  // The race request: the file's, with the command line's method/path, body and headers on top.
  let request: RequestTemplate;
  const fileRequest = s.request;
  if (cli.request !== undefined) {
    const line = parseRequestLine(cli.request);
    request = { method: line.method, path: line.path, headers: fileRequest?.headers ?? [], body: fileRequest?.body ?? null, user: optionalUser(fileRequest?.user, "request.user") };
  } else if (fileRequest) {
    request = { method: fileRequest.method, path: fileRequest.path, headers: fileRequest.headers, body: fileRequest.body, user: optionalUser(fileRequest.user, "request.user") };
  } else {
    throw new ProbeUsageError('--request "METHOD /path" is required (or request: in the scenario file)');
  }
  if (cli.body !== undefined) request.body = cli.body;
  if (cli.bodyFile !== undefined) request.body = bodyFileContent ?? "";
  if (cli.json !== undefined) {
    request.body = jsonBody(cli.json, "--json");
    request.headers = withContentType(request.headers, "application/json");
  }

  const side = (
    line: string | undefined, fileSpec: ScenarioRequest | undefined, userOpt: string | undefined,
    body: string | undefined, json: string | undefined, name: string,
  ): RequestTemplate | null => {
    if (line === undefined && fileSpec === undefined) {
      if (userOpt !== undefined || body !== undefined || json !== undefined) throw new ProbeUsageError(`--${name}-… options need --${name} "METHOD /path"`);
      return null;
    }
    const parsed = line !== undefined ? parseRequestLine(line, `--${name}`) : { method: fileSpec!.method, path: fileSpec!.path };
    const spec: RequestTemplate = {
      ...parsed,
      headers: fileSpec?.headers ?? [],
      body: fileSpec?.body ?? null,
      user: userOpt !== undefined ? parseCredential(userOpt, env, `--${name}-user`) : optionalUser(fileSpec?.user, `${name}.user`),
    };
    if (body !== undefined) spec.body = body;
    if (json !== undefined) {
      spec.body = jsonBody(json, `--${name}-json`);
      spec.headers = withContentType(spec.headers, "application/json");
    }
    return spec;
  };
  const setup = side(cli.setup, s.setup, cli.setupUser, cli.setupBody, cli.setupJson, "setup");
  const verify = side(cli.verify, s.verify, cli.verifyUser, undefined, undefined, "verify");
  const mutationSpec = side(cli.mutation, s.mutation, cli.mutationUser, cli.mutationBody, cli.mutationJson, "mutation");
  let mutation: MutationTemplate | null = null;
  const offsetText = cli.mutationOffset ?? s.mutation?.offsetMs;
  const acceptStatus = (cli.mutationStatus ?? s.mutation?.acceptStatus ?? "2xx").replace(/\s+/g, "");
  if (mutationSpec) mutation = { ...mutationSpec, offsetMs: offsetText === undefined ? 0 : boundedNumber(offsetText, "--mutation-offset", LIMITS.offsetMs, false), acceptStatus };
  else if (cli.mutationOffset !== undefined || cli.mutationStatus !== undefined) throw new ProbeUsageError('--mutation-offset and --mutation-status need --mutation "METHOD /path"');

  const headers = [...(s.headers ?? []), ...cli.headers.map(parseHeader)];
  const vars: Record<string, string> = { ...(s.vars ?? {}), ...Object.fromEntries(cli.vars.map(parseVar)) };

  let comparisons: Comparison[];
  let successStatus = cli.successStatus ?? s.successStatus ?? "2xx";
  try {
    comparisons = [...(s.comparisons ?? []), ...cli.expects].map(parseComparison);
    parseStatusSet(successStatus);
    parseStatusSet(acceptStatus);
  } catch (error) {
    if (error instanceof ExpectationError) throw new ProbeUsageError(error.message);
    throw error;
  }
  successStatus = successStatus.replace(/\s+/g, "");
  if (comparisons.length > 0 && !verify) throw new ProbeUsageError('--expect compares the answer of the verification request: give --verify "METHOD /path"');
  const maxSuccessText = cli.expectMaxSuccess ?? s.maxSuccesses;
  const maxSuccesses = maxSuccessText === undefined ? null : boundedNumber(maxSuccessText, "--expect-max-success", { min: 0, max: LIMITS.concurrency.max }, true);
  if (maxSuccesses === null && comparisons.length === 0) {
    throw new ProbeUsageError("nothing to check: give --expect-max-success K and/or --verify with --expect \"PATH OP VALUE\"");
  }

  const format = cli.format ?? "text";
  if (format !== "text" && format !== "json") throw new ProbeUsageError(`--format must be text or json, not "${format}"`);

  const config: ProbeConfig = {
    target,
    allowRemote: cli.allowRemote,
    user,
    headers,
    vars,
    request,
    concurrency: boundedNumber(cli.concurrency ?? s.concurrency ?? LIMITS.concurrency.default, "--concurrency", LIMITS.concurrency, true),
    rounds: boundedNumber(cli.rounds ?? s.rounds ?? LIMITS.rounds.default, "--rounds", LIMITS.rounds, true),
    setup,
    mutation,
    verify,
    maxSuccesses,
    successStatus,
    comparisons,
    maxRequests: boundedNumber(cli.maxRequests ?? s.maxRequests ?? LIMITS.maxRequests.default, "--max-requests", LIMITS.maxRequests, true),
    maxDurationMs: 1000 * boundedNumber(cli.maxDuration ?? s.maxDurationSeconds ?? LIMITS.maxDurationSeconds.default, "--max-duration", LIMITS.maxDurationSeconds, false),
    timeoutMs: 1000 * boundedNumber(cli.timeout ?? s.timeoutSeconds ?? LIMITS.timeoutSeconds.default, "--timeout", LIMITS.timeoutSeconds, false),
    settleMs: boundedNumber(cli.settle ?? s.settleMs ?? LIMITS.settleMs.default, "--settle", LIMITS.settleMs, false),
    stopOnViolation: cli.stopOnViolation || (s.stopOnViolation ?? false),
    format,
    output: cli.output ?? null,
  };
  checkPlaceholders(config);
  return config;
}

/** Every {{name}} must be a --var, {{round}}, or {{setup.PATH}} with a setup request. */
function checkPlaceholders(config: ProbeConfig): void {
  const texts: [string, string][] = [];
  const add = (where: string, spec: RequestTemplate | null) => {
    if (!spec) return;
    texts.push([`${where} path`, spec.path]);
    if (spec.body !== null) texts.push([`${where} body`, spec.body]);
    for (const [name, value] of spec.headers) texts.push([`${where} header ${name}`, value]);
  };
  add("request", config.request);
  add("mutation", config.mutation);
  add("verify", config.verify);
  for (const [name, value] of config.headers) texts.push([`header ${name}`, value]);
  const setupTexts: [string, string][] = [];
  if (config.setup) {
    setupTexts.push(["setup path", config.setup.path]);
    if (config.setup.body !== null) setupTexts.push(["setup body", config.setup.body]);
    for (const [name, value] of config.setup.headers) setupTexts.push([`setup header ${name}`, value]);
  }
  for (const [where, text] of [...texts, ...setupTexts] as [string, string][]) {
    for (const name of placeholders(text)) {
      // A --var's value is known now: one that cannot go in a header is refused before any request.
      const problem = Object.hasOwn(config.vars, name) && /\bheader /.test(where) ? headerValueProblem(config.vars[name]!) : null;
      if (problem) throw new ProbeUsageError(`${where}: the value of {{${name}}}: ${problem}`);
      if (name === "round" || Object.hasOwn(config.vars, name)) continue;
      if (name.startsWith("setup.") && config.setup && !where.startsWith("setup")) continue;
      throw new ProbeUsageError(
        `${where}: unknown placeholder {{${name}}} (use {{round}}, a --var NAME=VALUE, or {{setup.PATH}} with a --setup request)`,
      );
    }
  }
}

/** `{{round}}`, `{{setup.id}}`, `{{NAME}}`: checked here at start-up, filled by run.ts's `wire()`. */
export const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;

export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export const PROBE_HELP = `stalecheck probe — confirm a race on a running HTTP app with synchronised bursts

Usage:
  stalecheck probe --target URL --user USER:PASS --request "METHOD /path" --concurrency N --rounds N [options]
  stalecheck probe --scenario FILE [options that override the file]

Each round: an optional setup request; N connections opened and sent all but the last byte
of each request head; the last bytes (and bodies) released together; an optional mutation
request at an offset from that release; then an optional verification request whose JSON
answer the expectations are evaluated against.

Requests:
  --target URL              the app's base URL; must be a loopback address unless --allow-remote
  --user USER:PASS          HTTP Basic credentials for every request (env:VAR reads USER:PASS from VAR)
  --request "METHOD /path"  the request to race; characters outside ASCII in a path are sent
                            percent-encoded (UTF-8), control characters are refused
  -H, --header "N: V"       extra header on every request (repeatable); one whose value uses a
                            {{setup.PATH}} value goes with every request but the setup itself.
                            Values: tab, printable ASCII and printable Latin-1 (U+00A0-U+00FF) only
  --body TEXT | --body-file FILE | --json JSON
                            the race request's body (--json also sets Content-Type)
  -c, --concurrency N       requests per burst (1-100, default 2)
  -n, --rounds N            bursts to send (1-1000, default 1)
  --setup "METHOD /path"    before each round (e.g. create a fresh object); its JSON answer
                            fills {{setup.PATH}} placeholders in the other requests
  --setup-user, --setup-body, --setup-json
  --mutation "METHOD /path" a concurrent change, e.g. a revocation with admin credentials
  --mutation-user, --mutation-body, --mutation-json
  --mutation-offset MS      send the mutation MS ms after the release (negative: before it; default 0)
  --mutation-status LIST    mutation answers that are fine (default 2xx; e.g. 2xx,409 when it may lose the race)
  --verify "METHOD /path"   after each round; its JSON answer is checked by --expect
  --verify-user USER:PASS
  --var NAME=VALUE          fills {{NAME}} in paths, bodies and headers (repeatable); {{round}} is the round number

Expectations (a round violating one has shown the race; exit code 1):
  --expect-max-success K    at most K race responses may succeed
  --success-status LIST     what counts as success: codes or classes, e.g. 200,201 or 2xx (default 2xx)
  --expect "PATH OP VALUE"  a comparison on the verification answer, OP one of == != < <= > >=,
                            PATH dot-separated (count, items.0.status, events.length); repeatable

Bounds and output:
  --max-requests N          stop before exceeding N requests in all (default 1000)
  --max-duration SECONDS    stop starting rounds after SECONDS, abort requests past it (default 300)
  --timeout SECONDS         per request (default 30); an answer over 64 MiB also fails its request
  --settle MS               pause between the partial sends and the release (default 100)
  --stop-on-violation       stop after the first round that violates an expectation
  --scenario FILE           read the above from a JSON or YAML file; command-line options win
  --allow-remote            allow a target that is not a loopback address (only systems you may test)
  --format text|json        report format (default text);  -o, --output FILE  write it to FILE

The report shows each request line with the --var values filled in ({{round}} and
{{setup.PATH}} as written). Exit codes: 0 every expectation held, 1 an expectation was
violated (the race showed), 2 usage error, refused target, or a round that could not run
(setup or verification failed). Credentials and sensitive header values are never printed;
control characters from the target's answers or the configuration are shown escaped (\\x1b, \\u202e).
`;
