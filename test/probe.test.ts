/** `stalecheck probe`: its pure parts, and whole runs against a tiny local HTTP server. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.js";
import { compare, evaluateComparison, parseComparison, parseStatusSet } from "../src/probe/expect.js";
import { MAX_RESPONSE_BYTES, PendingRequest, ResponseReader, encodeRequest, parseResponse } from "../src/probe/http.js";
import { escapeControl } from "../src/report/escape.js";
import { probeHeader, probeJson } from "../src/probe/report.js";
import { wire } from "../src/probe/run.js";
import { buildProbeConfig, parseCredential, parseProbeArgs, parseScenario, ProbeUsageError } from "../src/probe/options.js";
import { Secrets, displayHeader } from "../src/probe/redact.js";
import { isLoopbackAddress, parseTarget, resolveTarget } from "../src/probe/target.js";
import { parseYaml } from "../src/probe/yaml.js";

const config = (argv: string[], env: Record<string, string> = {}, scenario: string | null = null) =>
  buildProbeConfig({ cli: parseProbeArgs(argv), scenario: scenario === null ? null : parseScenario(scenario, "s.yaml"), env });

const BASE = ["--target", "http://127.0.0.1:8000", "--user", "alice:pw-123", "--request", "POST /pay/", "--expect-max-success", "1"];

describe("argument parsing", () => {
  it("reads the issue's option names and defaults", () => {
    const c = config([...BASE, "--concurrency", "8", "--rounds", "3"]);
    expect(c.target.origin).toBe("http://127.0.0.1:8000");
    expect(c.user).toEqual({ username: "alice", password: "pw-123" });
    expect(c.request).toMatchObject({ method: "POST", path: "/pay/", body: null });
    expect([c.concurrency, c.rounds, c.maxSuccesses]).toEqual([8, 3, 1]);
    expect(c.maxRequests).toBe(1000);
    expect(c.maxDurationMs).toBe(300_000);
    expect(c.successStatus).toBe("2xx");
  });

  it("accepts --opt=value, short forms, repeated headers, --json bodies and the mutation at an offset", () => {
    const c = config([
      ...BASE, "-c", "4", "-n", "2", "-H", "X-Trace: 1", "--header=X-Other: two", "--json", '{"code": "A"}',
      "--mutation", "DELETE /members/7/", "--mutation-user", "root:toor-pw", "--mutation-offset", "-250",
      "--verify", "GET /state/", "--expect", "payments <= 1", "--var", "variant=fixed",
    ]);
    expect(c.headers).toEqual([["X-Trace", "1"], ["X-Other", "two"]]);
    expect(c.request.body).toBe('{"code":"A"}');
    expect(c.request.headers).toEqual([["Content-Type", "application/json"]]);
    expect(c.mutation).toMatchObject({ method: "DELETE", path: "/members/7/", offsetMs: -250, acceptStatus: "2xx", user: { username: "root" } });
    expect(c.comparisons.map((x) => x.text)).toEqual(["payments <= 1"]);
    expect(c.vars).toEqual({ variant: "fixed" });
  });

  it.each([
    [["--target", "http://127.0.0.1"], /--request/],
    [["--request", "GET /"], /--target/],
    [[...BASE, "--concurrency", "0"], /between 1 and 100/],
    [[...BASE, "--concurrency", "2.5"], /integer/],
    [[...BASE, "--rounds", "100000"], /between 1 and 1000/],
    [[...BASE, "--max-duration", "0"], /between 1 and 3600/],
    [[...BASE, "--bogus"], /unknown option --bogus/],
    [[...BASE, "stray"], /unexpected argument/],
    [[...BASE, "--rounds"], /needs a value/],
    [[...BASE, "--rounds", "2", "--rounds", "3"], /more than once/],
    [["--target", "http://127.0.0.1", "--request", "GET /"], /nothing to check/],
    [[...BASE, "--expect", "count == 0"], /--verify/],
    [[...BASE, "--request", "GET http://evil.example/"], /more than once/],
    [["--target", "http://127.0.0.1", "--request", "GET http://evil.example/", "--expect-max-success", "1"], /requests go to --target only/],
    [["--target", "http://127.0.0.1", "--request", "GET relative", "--expect-max-success", "1"], /must start with \//],
    [[...BASE, "-H", "Host: other"], /set by the probe/],
    [[...BASE, "-H", "no colon"], /Name: value/],
    [[...BASE, "--body", "a", "--json", "{}"], /at most one/],
    [[...BASE, "--json", "{nope"], /not valid JSON/],
    [[...BASE, "--mutation-offset", "10"], /need --mutation/],
    [[...BASE, "--success-status", "2yy"], /status code/],
    [["--target", "ftp://127.0.0.1", "--request", "GET /", "--expect-max-success", "1"], /http/],
    [["--target", "http://u:p@127.0.0.1", "--request", "GET /", "--expect-max-success", "1"], /must not contain credentials/],
    [[...BASE, "--request-x"], /unknown option/],
    [[...BASE.slice(0, 4), "--request", "GET /{{nope}}/", "--expect-max-success", "1"], /unknown placeholder \{\{nope\}\}/],
    [[...BASE.slice(0, 4), "--request", "GET /{{setup.id}}/", "--expect-max-success", "1"], /unknown placeholder/],
  ])("refuses %j", (argv, message) => {
    expect(() => config(argv as string[])).toThrow(message as RegExp);
  });

  it("allows {{setup.…}} with a setup request, {{round}} and --var names", () => {
    const c = config([...BASE.slice(0, 4), "--request", "GET /{{setup.id}}/{{round}}/{{v}}/", "--setup", "POST /fresh/", "--var", "v=x", "--expect-max-success", "1"]);
    expect(c.request.path).toBe("/{{setup.id}}/{{round}}/{{v}}/");
  });

  it("reads credentials from the environment with env:VAR, and never echoes a bad value", () => {
    expect(parseCredential("env:CREDS", { CREDS: "bob:s:e:c" })).toEqual({ username: "bob", password: "s:e:c" });
    expect(() => parseCredential("env:MISSING", {})).toThrow(/MISSING is not set/);
    let message = "";
    try {
      parseCredential("hunter2-no-colon", {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/USER:PASS/);
    expect(message).not.toContain("hunter2");
  });
});

describe("loopback rule", () => {
  it.each(["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1"])("%s is loopback", (a) => {
    expect(isLoopbackAddress(a)).toBe(true);
  });
  it.each(["10.0.0.1", "0.0.0.0", "192.168.1.1", "::", "::ffff:10.0.0.1", "fe80::1", "localhost", "128.0.0.1"])("%s is not", (a) => {
    expect(isLoopbackAddress(a)).toBe(false);
  });

  it("refuses a remote address or a name resolving to one unless allowRemote, and pins the checked address", async () => {
    await expect(resolveTarget(parseTarget("http://10.1.2.3:80"), false)).rejects.toThrow(/not a loopback address.*--allow-remote/);
    await expect(resolveTarget(parseTarget("http://10.1.2.3:80"), true)).resolves.toBe("10.1.2.3");
    const resolver = async () => ["127.0.0.1", "203.0.113.9"];
    await expect(resolveTarget(parseTarget("http://mixed.test:80"), false, resolver)).rejects.toThrow(/resolves to 203\.0\.113\.9/);
    await expect(resolveTarget(parseTarget("http://local.test:80"), false, async () => ["127.0.0.5"])).resolves.toBe("127.0.0.5");
    await expect(resolveTarget(parseTarget("http://[::1]:8000"), false)).resolves.toBe("::1");
  });

  it("exits 2 with a clear message and sends nothing to a non-loopback target", async () => {
    const { code, stderr, stdout } = await cli(["probe", "--target", "http://192.0.2.10:8000", "--user", "a:secret-pw", "--request", "GET /", "--expect-max-success", "0"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/refusing to probe http:\/\/192\.0\.2\.10:8000.*pass --allow-remote/s);
    expect(stdout).toBe("");
    expect(stderr).not.toContain("secret-pw");
  });
});

describe("expectations", () => {
  it("parses PATH OP VALUE", () => {
    expect(parseComparison("count == 0")).toMatchObject({ path: ["count"], op: "==", value: 0 });
    expect(parseComparison("items[1].status != \"void\"")).toMatchObject({ path: ["items", "1", "status"], op: "!=", value: "void" });
    expect(parseComparison("$ == [1]")).toMatchObject({ path: [], value: [1] });
    expect(parseComparison("state == paid")).toMatchObject({ value: "paid" });
    expect(() => parseComparison("count =< 1")).toThrow(/PATH OP VALUE/);
    expect(() => parseComparison("count ==")).toThrow(/PATH OP VALUE/);
  });

  it("evaluates against a JSON answer; decimal strings compare as numbers; a missing path decides nothing", () => {
    const answer = { wallet: "20.00", count: 2, events: [{ action: "charged" }], ok: true, state: "paid" };
    const holds = (text: string) => evaluateComparison(parseComparison(text), answer).holds;
    expect(holds("wallet <= 5.00")).toBe(false);
    expect(holds("wallet == 20")).toBe(true);
    expect(holds("count > 1")).toBe(true);
    expect(holds("events.length == 1")).toBe(true);
    expect(holds("events.0.action == \"charged\"")).toBe(true);
    expect(holds("ok == true")).toBe(true);
    expect(holds("state != paid")).toBe(false);
    expect(holds("missing == 0")).toBeNull();
    expect(compare({ a: 1, b: 2 }, "==", { b: 2, a: 1 })).toBe(true);
    expect(compare("abc", "<", "abd")).toBe(true);
    expect(compare(null, "<", 1)).toBe(false);
  });

  it("parses success status sets", () => {
    const ok = parseStatusSet("2xx,409");
    expect([200, 201, 299, 409, 300, 404].map(ok)).toEqual([true, true, true, true, false, false]);
    expect(() => parseStatusSet("")).toThrow();
  });
});

describe("scenario files", () => {
  const yaml = `
# a scenario kept in a repo
target: http://127.0.0.1:9000
user: env:APP_USER          # never a password in the file
headers:
  X-Env: demo
vars: {variant: vulnerable}
request:
  line: POST /api/redeem/{{variant}}/
  json: {code: "{{setup.code}}", note: 'it''s #1'}
concurrency: 4
rounds: 3
setup:
  method: POST
  path: /api/setup/
  user: env:APP_ADMIN
mutation:
  line: POST /api/revoke/
  offsetMs: 600
  acceptStatus: [2xx, 409]
verify: GET /api/state/
expect:
  maxSuccesses: 1
  successStatus: [200, 201]
  verify:
    - wallet <= 5.00
    - "used == true"
limits:
  maxRequests: 50
  maxDurationSeconds: 20
stopOnViolation: true
`;
  const env = { APP_USER: "carol:c-pass", APP_ADMIN: "root:r-pass" };

  it("reads YAML and JSON into the same configuration", () => {
    const fromYaml = config([], env, yaml);
    expect(fromYaml.request).toMatchObject({ method: "POST", path: "/api/redeem/{{variant}}/", body: '{"code":"{{setup.code}}","note":"it\'s #1"}' });
    expect(fromYaml.setup?.user).toEqual({ username: "root", password: "r-pass" });
    expect(fromYaml.mutation).toMatchObject({ offsetMs: 600, acceptStatus: "2xx,409" });
    expect(fromYaml.verify).toMatchObject({ method: "GET", path: "/api/state/" });
    expect([fromYaml.concurrency, fromYaml.rounds, fromYaml.maxSuccesses, fromYaml.maxRequests, fromYaml.maxDurationMs]).toEqual([4, 3, 1, 50, 20_000]);
    expect(fromYaml.comparisons.map((c) => c.text)).toEqual(["wallet <= 5.00", "used == true"]);
    expect(fromYaml.successStatus).toBe("200,201");
    expect(fromYaml.stopOnViolation).toBe(true);
    expect(fromYaml.headers).toEqual([["X-Env", "demo"]]);

    const json = JSON.stringify(parseYaml(yaml));
    const fromJson = buildProbeConfig({ cli: parseProbeArgs([]), scenario: parseScenario(json, "s.json"), env });
    expect(fromJson).toEqual(fromYaml);
  });

  it("lets the command line override the file", () => {
    const c = buildProbeConfig({ cli: parseProbeArgs(["--var", "variant=fixed", "--rounds", "9", "--target", "http://[::1]:1"]), scenario: parseScenario(yaml, "s.yaml"), env });
    expect([c.vars.variant, c.rounds, c.target.origin]).toEqual(["fixed", 9, "http://[::1]:1"]);
  });

  it.each([
    ["request: GET /\nexpect: {maxSuccesses: 1}\ntarget: http://127.0.0.1\nbogus: 1\n", /bogus: unknown key/],
    ["target: http://127.0.0.1\nrequest: {method: GET}\n", /needs method and path/],
    ["target: [1\n", /line 1/],
    ["a: &anchor 1\n", /anchors/],
    ["a: 1\na: 2\n", /duplicate key/],
    ["a:\n\t- 1\n", /tabs/],
    ["{\"target\": 1}", /target: must be a string/],
    ["target: http://127.0.0.1\nrequest: GET /\nexpect: {verify: [count = 1]}\n", /PATH OP VALUE/],
  ])("refuses a bad file: %j", (text, message) => {
    expect(() => buildProbeConfig({ cli: parseProbeArgs([]), scenario: parseScenario(text, "s.yaml"), env })).toThrow(message);
  });

  it("parses the YAML subset: nesting, sequences of mappings, block scalars, quoting, comments", () => {
    expect(parseYaml("a:\n  b: [1, two, 'x y', \"q\\\"\"]\n  c: {d: null, e: true}\nlist:\n- name: one\n  n: 1.5\n- - nested\n- ~\ntext: |\n  line 1\n  line 2 # kept\nfold: >-\n  a\n  b\nurl: http://x:1/#frag\n"))
      .toEqual({ a: { b: [1, "two", "x y", 'q"'], c: { d: null, e: true } }, list: [{ name: "one", n: 1.5 }, ["nested"], null], text: "line 1\nline 2 # kept\n", fold: "a b", url: "http://x:1/#frag" });
    expect(parseYaml("---\n- 1\n- '#not a comment'\n...\n")).toEqual([1, "#not a comment"]);
    expect(parseYaml("")).toBeNull();
  });
});

describe("credential redaction", () => {
  it("replaces every known secret wherever it appears, longest first", () => {
    const s = new Secrets();
    s.add("pw");
    s.add("s3cret");
    s.add("alice:s3cret");
    s.add(Buffer.from("alice:s3cret").toString("base64"));
    expect(s.redact("Authorization: Basic YWxpY2U6czNjcmV0 user alice:s3cret pass s3cret pw")).toBe("Authorization: Basic *** user *** pass *** pw");
    expect(displayHeader("Authorization", "Basic abc")).toBe("Authorization: ***");
    expect(displayHeader("X-Api-Key", "k")).toBe("X-Api-Key: ***");
    expect(displayHeader("X-Trace", "1")).toBe("X-Trace: 1");
  });
});

describe("HTTP framing", () => {
  it("holds back the last byte of the head and releases it with the body", () => {
    const { ahead, release } = encodeRequest(parseTarget("http://127.0.0.1:8000/base"), { method: "POST", path: "/x", headers: [["A", "b"]], body: "{}" });
    const head = ahead.toString();
    expect(head.startsWith("POST /base/x HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")).toBe(true);
    expect(head).toContain("Content-Length: 2\r\nConnection: close\r\n\r");
    expect(head.endsWith("\r\n\r")).toBe(true);
    expect(release.toString()).toBe("\n{}");
  });

  it("parses Content-Length, chunked and close-delimited answers", () => {
    expect(parseResponse(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"), false)).toBeNull();
    expect(parseResponse(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), false)).toMatchObject({ status: 200, body: "hello" });
    expect(parseResponse(Buffer.from("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), false)).toMatchObject({ status: 201, body: "abcde" });
    expect(parseResponse(Buffer.from("HTTP/1.0 409 Conflict\r\n\r\nno"), true)).toMatchObject({ status: 409, body: "no" });
    expect(() => parseResponse(Buffer.from(""), true)).toThrow(/without answering/);
  });
});

// ---------------------------------------------------------------------------------------
// Whole runs against a local server with a deliberate check-then-act race.

/** Requests per burst in these runs; the racy endpoint holds that many before acting. */
const BURST = 5;

interface ServerState {
  used: boolean;
  redemptions: number;
  /** What the server received since the last setup, in the order it received it. */
  order: string[];
  /** Racy redemptions that passed the check, waiting for the rest of the burst to act. */
  waiting: (() => void)[];
  authorizations: string[];
  requests: number;
  /** The path and the X-Code header (null: absent) of every request, in order. */
  codes: { url: string; code: string | null }[];
}

let server: Server;
let base = "";
const state: ServerState = { used: false, redemptions: 0, order: [], waiting: [], authorizations: [], requests: 0, codes: [] };

/** Text that would drive a terminal or reorder what it shows: ESC/CSI, an OSC title, CR, C1 CSI, bidi override and isolate, a line separator. */
const HOSTILE = "\u001b[2J\u001b]0;owned\u0007\r\u009b31m\u202egnp.exe\u2066x\u2069\u2028end\u007f";
/** The same without line breaks, which a placeholder's value may not hold. */
const HOSTILE_LINE = HOSTILE.replace("\r", "");
/** Any of the characters stalecheck must never print raw (line feeds aside, which text output is made of). */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: process.cwd(), env, stdoutIsTTY: false });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      state.requests++;
      state.authorizations.push(req.headers.authorization ?? "");
      state.codes.push({ url: req.url ?? "", code: (req.headers["x-code"] as string | undefined) ?? null });
      const json = (status: number, data: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(data));
      };
      const url = req.url ?? "";
      if (url === "/setup") {
        state.used = false;
        state.redemptions = 0;
        state.order = ["setup"];
        state.waiting = [];
        return json(201, { code: "V-1", nested: { id: 7 } });
      }
      if (url === "/state") {
        state.order.push("state");
        return json(200, { redemptions: state.redemptions, code: "V-1" });
      }
      if (url === "/revoke") {
        state.order.push("revoke");
        return json(200, { revoked: true });
      }
      if (url === "/broken-setup") return json(500, {});
      if (url === "/hostile-setup") return json(201, { code: "V-1", label: HOSTILE_LINE });
      if (url.startsWith("/hostile-state/")) return json(200, { redemptions: state.redemptions, label: HOSTILE });
      if (url === "/trap-setup") return json(201, { code: "V-1", trap: "x\u010aInjected: yes" });
      if (url === "/big-state") {
        // 5,000 items, each written as a chunk of its own: an answer in many small pieces.
        res.writeHead(200, { "Content-Type": "application/json" });
        res.write('{"items": [');
        for (let i = 0; i < 5000; i++) res.write(`${i === 0 ? "" : ","}{"n": ${i}}`);
        res.end("]}");
        return;
      }
      const match = /^\/redeem\/(safe|racy)\/(.+)$/.exec(url);
      if (!match) return json(404, {});
      state.order.push("redeem");
      if (match[2] !== "V-1" || JSON.parse(body || "{}").note !== "n") return json(400, { url, body });
      if (match[1] === "safe") {
        // Check and act in one step: exactly one request wins.
        if (state.used) return json(409, {});
        state.used = true;
        state.redemptions++;
        return json(200, {});
      }
      if (state.used) return json(409, {});
      // Check, then act once the whole burst has passed the check: the window is as wide as the
      // burst, whatever the machine's speed, so the race shows every time. (The probe's part,
      // sending the burst together, is checked on the client side below.)
      state.waiting.push(() => {
        state.used = true;
        state.redemptions++;
        json(200, {});
      });
      if (state.waiting.length === BURST) for (const act of state.waiting.splice(0)) act();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const scenarioArgs = (variant: "safe" | "racy", rounds = 2) => [
  "probe", "--target", base, "--user", "env:PROBE_USER", "--request", `POST /redeem/${variant}/{{setup.code}}`,
  "--json", '{"note": "n"}', "--concurrency", String(BURST), "--rounds", String(rounds), "--setup", "POST /setup",
  "--verify", "GET /state", "--expect", "redemptions <= 1", "--expect-max-success", "1",
];

describe("probe runs against a local server", () => {
  const env = { PROBE_USER: "tester:Pa55-word-xyz" };

  it("shows the race (exit 1) with a synchronised burst, and never prints the credentials", async () => {
    const { code, stdout, stderr } = await cli([...scenarioArgs("racy"), "--format", "json"], env);
    expect(code, stderr).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.summary).toMatchObject({ verdict: "race", roundsRun: 2, roundsViolated: 2, firstViolationRound: 1, requests: 14 });
    expect(report.rounds[0].successes).toBe(5);
    expect(report.rounds[0].setupValues).toEqual({ code: "V-1" });
    expect(report.rounds[0].verify.results[0]).toEqual({ expectation: "redemptions <= 1", actual: 5, holds: false });
    expect(stdout + stderr).not.toContain("Pa55-word-xyz");
    expect(stdout + stderr).not.toContain(Buffer.from("tester:Pa55-word-xyz").toString("base64"));
    expect(state.authorizations).toContain(`Basic ${Buffer.from("tester:Pa55-word-xyz").toString("base64")}`);
  });

  it("reports no race (exit 0) on the safe twin, in text", async () => {
    const { code, stdout } = await cli(scenarioArgs("safe"), env);
    expect(code).toBe(0);
    expect(stdout).toMatch(/round 1: ok +statuses (200×1 409×4|409×\d 200×1 409×\d)/);
    expect(stdout).toMatch(/no race: every expectation held in 2 rounds; 14 requests/);
    expect(stdout).toContain("(as tester)");
    expect(stdout).not.toContain("Pa55-word-xyz");
  });

  it("stops at the first violation when asked, and within the request budget", async () => {
    const stop = JSON.parse((await cli([...scenarioArgs("racy", 5), "--stop-on-violation", "--format", "json"], env)).stdout);
    expect(stop.summary).toMatchObject({ roundsRun: 1, stoppedBy: "violation" });
    const before = state.requests;
    const budget = JSON.parse((await cli([...scenarioArgs("safe", 5), "--max-requests", "15", "--format", "json"], env)).stdout);
    expect(budget.summary).toMatchObject({ roundsRun: 2, stoppedBy: "max-requests", requests: 14 });
    expect(state.requests - before).toBe(14);
  });

  it("stages every request of the burst before releasing any, and releases them back to back", async () => {
    // Client side, so that no assertion depends on how fast the machine is: each burst
    // connection is open with all but the last byte written before the first release, and
    // the releases run in one synchronous loop (no other event can come between them).
    const log: string[] = [];
    const line = (p: PendingRequest) => (p as unknown as { bytes: { ahead: Buffer } }).bytes.ahead.toString("latin1").split("\r\n")[0]!;
    const { prepare, release } = PendingRequest.prototype;
    let turn = 0;
    let current: number | null = null;
    const spies = [
      vi.spyOn(PendingRequest.prototype, "prepare").mockImplementation(async function (this: PendingRequest) {
        await prepare.call(this);
        log.push(`staged ${line(this)}`);
      }),
      vi.spyOn(PendingRequest.prototype, "release").mockImplementation(function (this: PendingRequest) {
        if (current === null) {
          current = ++turn;
          queueMicrotask(() => (current = null));
        }
        log.push(`released ${line(this)} in turn ${current}`);
        release.call(this);
      }),
    ];
    try {
      const { code } = await cli([...scenarioArgs("racy", 1), "--format", "json"], env);
      expect(code).toBe(1);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const burst = log.filter((l) => l.includes("/redeem/racy/"));
    expect(burst).toHaveLength(2 * BURST);
    expect(burst.slice(0, BURST)).toEqual(Array(BURST).fill("staged POST /redeem/racy/V-1 HTTP/1.1"));
    const turns = new Set(burst.slice(BURST).map((l) => /in turn (\d+)$/.exec(l)![1]));
    expect(burst.slice(BURST).every((l) => l.startsWith("released POST /redeem/racy/V-1 HTTP/1.1"))).toBe(true);
    expect(turns.size).toBe(1);
    expect(state.order).toEqual(["setup", ...Array(BURST).fill("redeem"), "state"]);
  });

  it("fires the mutation at its offset from the release", async () => {
    const { stdout } = await cli([...scenarioArgs("safe", 1), "--mutation", "POST /revoke", "--mutation-offset", "150", "--format", "json"], env);
    const round = JSON.parse(stdout).rounds[0];
    expect(round.mutation.status).toBe(200);
    // A timer never fires before its time (to the millisecond it counts in), however loaded the machine.
    expect(round.mutation.sentMs).toBeGreaterThanOrEqual(145);
    // Client and server share one event loop: the burst reached the server before the mutation was sent.
    expect(state.order).toEqual(["setup", ...Array(BURST).fill("redeem"), "revoke", "state"]);
  });

  it("stops with exit 2 when the setup fails, and reports a missing placeholder value as an error", async () => {
    const broken = await cli([...scenarioArgs("safe").map((a) => (a === "POST /setup" ? "POST /broken-setup" : a)), "--format", "json"], env);
    expect(broken.code).toBe(2);
    expect(JSON.parse(broken.stdout).summary).toMatchObject({ verdict: "error", roundsRun: 1, stoppedBy: "setup-failed" });
    const missing = await cli([...scenarioArgs("safe").map((a) => a.replace("{{setup.code}}", "{{setup.nope}}")), "--format", "json"], env);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).rounds[0].errors[0]).toMatch(/no value for \{\{setup\.nope\}\}/);
  });

  it("refuses an --output it cannot write before sending a request, and writes a writable one", async () => {
    const before = state.authorizations.length;
    const missing = await cli([...scenarioArgs("safe"), "--output", "/nonexistent-dir/probe.json", "--format", "json"], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--output: cannot write \/nonexistent-dir\/probe\.json: ENOENT/);
    const directory = await cli([...scenarioArgs("safe"), "--output", tmpdir()], env);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toMatch(/it is a directory/);
    expect(state.authorizations.length).toBe(before);
    const file = join(mkdtempSync(join(tmpdir(), "probe-out-")), "probe.json");
    const written = await cli([...scenarioArgs("safe", 1), "--output", file, "--format", "json"], env);
    expect(written.code).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8")).summary.verdict).toBe("no-race");
  });

  it("reports an unreachable target as an error, not as a race", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { code, stdout } = await cli(["probe", "--target", `http://127.0.0.1:${port}`, "--request", "GET /", "--expect-max-success", "0", "--format", "json", "--timeout", "2"]);
    expect(code).toBe(2);
    expect(JSON.parse(stdout).rounds[0].errors[0]).toMatch(/cannot connect|could not open/);
  });

  it("prints its help and refuses usage errors with exit 2", async () => {
    expect((await cli(["probe", "--help"])).stdout).toMatch(/--allow-remote/);
    const bad = await cli(["probe", "--target", base]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--request/);
    expect(() => parseProbeArgs(["--concurrency"])).toThrow(ProbeUsageError);
  });
});

describe("what a request may carry", () => {
  // Characters whose low byte is a line break: Latin-1 encoding would send them as CR or LF.
  const smuggled = ["\u010a", "\u010d", "\u020a", "\uff0a", "\u010d\u010a", "\u{1000a}"];
  const breaks = ["\r", "\n", "\r\n", "\u0000", "\u007f", "\u0085"];

  it.each([...smuggled, ...breaks])("refuses %j in a header value, on the command line and in a scenario", (c) => {
    expect(() => config([...BASE, "-H", `X-Trace: a${c}Injected: yes`])).toThrow(/header X-Trace: U\+[0-9A-F]{4,5} .*cannot be sent in a header value/);
    const scenario = `target: http://127.0.0.1:8000\nrequest: GET /\nexpect: {maxSuccesses: 1}\nheaders: {X-Trace: "a${JSON.stringify(c).slice(1, -1)}b"}\n`;
    expect(() => config([], {}, scenario)).toThrow(/header X-Trace: U\+[0-9A-F]{4,5} .*cannot be sent/);
  });

  it.each(smuggled)("says which byte %j would have become", (c) => {
    expect(() => config([...BASE, "-H", `X-Trace: a${c}b`])).toThrow(/would be sent as byte 0x0[ad], a line break/);
  });

  it("accepts printable Latin-1 in a header value, and sends it as one byte each", () => {
    const c = config([...BASE, "-H", "X-Name: café ÿ"]);
    expect(c.headers).toEqual([["X-Name", "café ÿ"]]);
    const { ahead } = encodeRequest(c.target, wire(c, c.request, () => undefined));
    expect(ahead.includes(Buffer.from("X-Name: caf\xe9 \xff", "latin1"))).toBe(true);
  });

  it.each(smuggled)("percent-encodes %j in a path instead of sending its low byte", (c) => {
    const parsed = config([...BASE.slice(0, 4), "--request", `GET /a${c}b/`, "--expect-max-success", "1"]);
    expect(parsed.request.path).toBe(`/a${encodeURIComponent(c)}b/`);
    const head = encodeRequest(parsed.target, wire(parsed, parsed.request, () => undefined)).ahead.toString("latin1");
    expect(head.split("\r\n")[0]).toBe(`GET /a${encodeURIComponent(c)}b/ HTTP/1.1`);
    expect(head.match(/\n/g)).toHaveLength(head.split("\r\n").length - 1);
    const fromFile = config([], {}, `target: http://127.0.0.1:8000\nrequest: {method: GET, path: "/a${JSON.stringify(c).slice(1, -1)}b/"}\nexpect: {maxSuccesses: 1}\n`);
    expect(fromFile.request.path).toBe(`/a${encodeURIComponent(c)}b/`);
  });

  it("keeps placeholders in a path as written while encoding the text around them", () => {
    expect(config([...BASE.slice(0, 4), "--request", "GET /é/{{v}}/", "--var", "v=x", "--expect-max-success", "1"]).request.path).toBe("/%C3%A9/{{v}}/");
  });

  it.each(["\u0001", "\u001b", "\u007f"])("refuses the control character %j in a path", (c) => {
    expect(() => config([...BASE.slice(0, 4), "--request", `GET /a${c}b`, "--expect-max-success", "1"])).toThrow(/the path holds a control character \(U\+00[0-9A-F]{2}\); write it percent-encoded/);
  });

  it("refuses plain line breaks in a request line (a second request or header after them)", () => {
    for (const line of ["GET /a\r\nX-Injected: 1", "GET /a\nGET /b", "GET /a\rb"]) {
      expect(() => config([...BASE.slice(0, 4), "--request", line, "--expect-max-success", "1"])).toThrow(/is not "METHOD \/path"/);
    }
  });

  it("refuses a --var value a header could not carry, before any request", () => {
    expect(() => config([...BASE, "-H", "X-V: {{v}}", "--var", "v=a\u010ab"])).toThrow(/header X-V: the value of \{\{v\}\}: U\+010A \(it would be sent as byte 0x0a, a line break\)/);
    expect(config([...BASE.slice(0, 4), "--request", "GET /{{v}}", "--var", "v=a\u010ab", "--expect-max-success", "1"]).vars.v).toBe("a\u010ab");
  });

  it("fills a placeholder's value into a path percent-encoded, and refuses one a header cannot carry", () => {
    const c = config([...BASE.slice(0, 4), "--request", "GET /{{setup.id}}/", "--setup", "POST /s", "-H", "X-Id: {{setup.id}}", "--expect-max-success", "1"]);
    const values = (name: string) => (name === "setup.id" ? "7\u010d\u010aHost: evil" : undefined);
    expect(() => wire(c, c.request, values)).toThrow(/header X-Id: U\+010D \(it would be sent as byte 0x0d, a line break\)/);
    const noHeader = config([...BASE.slice(0, 4), "--request", "GET /{{setup.id}}/", "--setup", "POST /s", "--expect-max-success", "1"]);
    expect(wire(noHeader, noHeader.request, values).path).toBe(`/${encodeURI("7\u010d\u010aHost: evil")}/`);
    expect(() => wire(noHeader, noHeader.request, (name) => (name === "setup.id" ? "\ud800" : undefined))).toThrow(/not valid Unicode/);
  });

  it("will not encode a head line holding anything but tab, printable ASCII and printable Latin-1", () => {
    const target = parseTarget("http://127.0.0.1:8000");
    for (const request of [
      { method: "GET", path: "/\u010a", headers: [], body: null },
      { method: "GET", path: "/", headers: [["X", "a\u010db"]] as [string, string][], body: null },
      { method: "GET", path: "/", headers: [["X", "a\r\nY: b"]] as [string, string][], body: null },
      { method: "GE\nT", path: "/", headers: [], body: null },
    ]) {
      expect(() => encodeRequest(target, request)).toThrow(/refusing to send a request head line holding U\+/);
    }
    expect(() => encodeRequest(target, { method: "GET", path: "/\u{1000a}", headers: [], body: null })).toThrow(/holding U\+1000A$/);
  });

  it("fails the round, never sending it, when a setup value would inject a header", async () => {
    const before = state.codes.length;
    const { code, stdout } = await cli([
      ...scenarioArgs("safe", 1).map((a) => (a === "POST /setup" ? "POST /trap-setup" : a)), "-H", "X-Code: {{setup.trap}}", "--format", "json",
    ], { PROBE_USER: "tester:Pa55-word-xyz" });
    expect(code).toBe(2);
    expect(JSON.parse(stdout).rounds[0].errors[0]).toMatch(/header X-Code: U\+010A \(it would be sent as byte 0x0a, a line break\) cannot be sent/);
    expect(state.codes.slice(before).map((r) => r.url)).toEqual(["/trap-setup"]);
  });
});

describe("reading answers", () => {
  /**
   * Feeds `raw` to a reader `size` bytes at a time until it has the answer; the answer, how many
   * bytes were left (a chunked answer is complete at its last chunk's size line), and how many
   * bytes the reader's searches looked at.
   */
  const feed = (raw: Buffer, size: number) => {
    const reader = new ResponseReader();
    let answer = null;
    let at = 0;
    while (answer === null && at < raw.length) {
      reader.push(raw.subarray(at, at + size));
      at += size;
      answer = reader.result(false);
    }
    return { answer, left: Math.max(0, raw.length - at), scanned: reader.scanned };
  };

  it("reads a long head and a Content-Length body byte by byte, looking at each byte a bounded number of times", () => {
    const headers = Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: ${"v".repeat(40)}\r\n`).join("");
    const body = JSON.stringify({ items: Array.from({ length: 2000 }, (_, n) => ({ n })) });
    const raw = Buffer.from(`HTTP/1.1 200 OK\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const { answer, left, scanned } = feed(raw, 1);
    expect(left).toBe(0);
    expect(answer).toMatchObject({ status: 200, body });
    expect(answer!.headers["x-filler-1999"]).toBe("v".repeat(40));
    // Each arrival resumes the search for the end of the head 3 bytes back: at most 4 bytes per byte.
    expect(scanned).toBeLessThanOrEqual(4 * raw.length);
  });

  it("reads a chunked answer of many small chunks delivered a few bytes at a time", () => {
    const pieces = Array.from({ length: 5000 }, (_, i) => `${i === 0 ? "[" : ","}${i}`);
    const chunks = pieces.map((p) => `${Buffer.byteLength(p).toString(16)};ext=1\r\n${p}\r\n`).join("");
    const raw = Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}1\r\n]\r\n0\r\n\r\n`);
    for (const size of [1, 3, 1000]) {
      const { answer, left, scanned } = feed(raw, size);
      expect(left).toBeLessThanOrEqual(2);
      expect(JSON.parse(answer!.body)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
      expect(scanned).toBeLessThanOrEqual(4 * raw.length);
    }
  });

  it("refuses an answer larger than the limit as it arrives", () => {
    const reader = new ResponseReader();
    reader.push(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"));
    expect(() => reader.push(Buffer.alloc(MAX_RESPONSE_BYTES))).toThrow(/larger than 64 MiB/);
  });

  it("evaluates a verification answer the server wrote in 5,000 pieces", async () => {
    const { code, stdout } = await cli([
      "probe", "--target", base, "--request", "GET /state", "--expect-max-success", "2", "--verify", "GET /big-state", "--expect", "items.length == 5000", "--format", "json",
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).rounds[0].verify.results).toEqual([{ expectation: "items.length == 5000", actual: 5000, holds: true }]);
  });
});

describe("global headers and the setup request", () => {
  it("sends a header that uses a setup value with every request but the setup, which produces the value", async () => {
    const env = { PROBE_USER: "tester:Pa55-word-xyz" };
    const before = state.codes.length;
    const { code, stdout } = await cli([...scenarioArgs("safe", 2), "-H", "X-Code: {{setup.code}}", "--format", "json"], env);
    expect(code, stdout).toBe(0);
    const seen = state.codes.slice(before);
    expect(seen.filter((r) => r.url === "/setup")).toEqual([{ url: "/setup", code: null }, { url: "/setup", code: null }]);
    expect(seen.filter((r) => r.url !== "/setup").every((r) => r.code === "V-1")).toBe(true);
    expect(seen).toHaveLength(14);
  });

  it("sends the other global headers with the setup too, and refuses {{setup.…}} in the setup's own headers", () => {
    const c = config([...BASE.slice(0, 4), "--request", "GET /r", "--setup", "POST /s", "-H", "X-Plain: 1", "-H", "X-Id: {{setup.id}}", "--expect-max-success", "1"]);
    const values = (name: string) => (name === "setup.id" ? "42" : undefined);
    expect(wire(c, c.setup!, () => undefined).headers.map(([n]) => n)).toEqual(["Authorization", "X-Plain"]);
    expect(wire(c, c.request, values).headers).toEqual([["Authorization", expect.any(String)], ["X-Plain", "1"], ["X-Id", "42"]]);
    const file = "target: http://127.0.0.1:1\nrequest: GET /r\nexpect: {maxSuccesses: 1}\nsetup: {line: POST /s, headers: {X-Id: \"{{setup.id}}\"}}\n";
    expect(() => config([], {}, file)).toThrow(/setup header X-Id: unknown placeholder \{\{setup\.id\}\}/);
  });
});

describe("what the report shows", () => {
  it("prints each request line with the --var values filled in, and {{round}} and {{setup.…}} as written", () => {
    const c = config([...BASE.slice(0, 4), "--request", "POST /redeem/{{variant}}/{{setup.code}}/{{round}}/", "--setup", "POST /s/{{variant}}",
      "--var", "variant=fixed twin", "--expect-max-success", "1"]);
    const header = probeHeader(c);
    expect(header).toContain("stalecheck probe: POST /redeem/fixed%20twin/{{setup.code}}/{{round}}/ (as alice)");
    expect(header).toContain("  setup     POST /s/fixed%20twin");
    expect(header).not.toContain("{{variant}}");
    expect(JSON.parse(probeJson(c, { rounds: [], stoppedBy: "completed", requests: 0, durationMs: 0 }, "0")).request.line).toBe("POST /redeem/fixed%20twin/{{setup.code}}/{{round}}/");
  });

  it("fills a scenario file's vars into the header too, and a --var overrides them (the README's scenario)", () => {
    const scenario = [
      "target: http://127.0.0.1:8000", "user: env:BILLING_STAFF", "vars: {variant: vulnerable}",
      "request: POST /api/invoices/{{setup.invoice}}/charge/{{variant}}/",
      "setup: {line: POST /api/demo/setup/revocation/, user: env:BILLING_ADMIN}",
      "verify: {line: 'GET /api/demo/audit/{{variant}}/', user: env:BILLING_ADMIN}", "expect: {maxSuccesses: 1}", "",
    ].join("\n");
    const env = { BILLING_STAFF: "staff:pw-1", BILLING_ADMIN: "admin:pw-2" };
    const header = probeHeader(config([], env, scenario));
    expect(header).toContain("stalecheck probe: POST /api/invoices/{{setup.invoice}}/charge/vulnerable/ (as staff)");
    expect(header).toContain("  verify    GET /api/demo/audit/vulnerable/ (as admin)");
    expect(header).not.toContain("{{variant}}");
    expect(probeHeader(config(["--var", "variant=fixed"], env, scenario))).toContain("/charge/fixed/ (as staff)");
  });

  it("escapes C0, DEL, C1, line separators and bidi controls, as visible escapes", () => {
    // The report's shared escape (report/escape.ts): tab is left as it is.
    expect(escapeControl("a\u001b[31mb\u0007\r\n\t\u007f\u0085\u009b\u2028\u2029\u202a\u202e\u2066\u2069 é ÿ 中")).toBe(
      "a\\x1b[31mb\\x07\\r\\n\t\\x7f\\x85\\x9b\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069 é ÿ 中");
  });

  it("never prints raw control characters from the target's answers, in text, JSON or a file", async () => {
    const env = { PROBE_USER: "tester:Pa55-word-xyz" };
    // The setup answer's label is used (so shown among the round's setup values) in the verification path.
    const args = scenarioArgs("safe", 1).map((a) => (a === "POST /setup" ? "POST /hostile-setup" : a === "GET /state" ? "GET /hostile-state/{{setup.label}}" : a));
    const text = await cli([...args, "--expect", "label == plain"], env);
    expect(text.stdout).toContain("[code=V-1, label=\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202egnp.exe\\u2066x\\u2069\\u2028end\\x7f]");
    expect(text.stdout).toContain('verify label == plain: found "\\u001b[2J\\u001b]0;owned\\u0007\\r\\x9b31m\\u202egnp.exe\\u2066x\\u2069\\u2028end\\x7f" (VIOLATED)');
    expect(text.stdout).not.toMatch(RAW_CONTROL);
    const json = await cli([...args, "--expect", "label == plain", "--format", "json"], env);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    const report = JSON.parse(json.stdout);
    expect(report.rounds[0].verify.results[1]).toEqual({ expectation: "label == plain", actual: HOSTILE, holds: false });
    expect(report.rounds[0].setupValues.label).toBe(HOSTILE_LINE);
    const file = join(mkdtempSync(join(tmpdir(), "probe-out-")), "probe.txt");
    await cli([...args, "--expect", "label == plain", "--output", file], env);
    expect(readFileSync(file, "utf8")).toContain("verify label == plain: found");
    expect(readFileSync(file, "utf8")).not.toMatch(RAW_CONTROL);
  });

  it("escapes what a malformed answer carries into an error message", async () => {
    const raw = createNetServer((socket) => socket.once("data", () => socket.end("HTTP/1.1 2\u001b]0;t\u0007\u001b[2J\r\n\r\n")));
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    try {
      const { code, stdout } = await cli(["probe", "--target", `http://127.0.0.1:${(raw.address() as AddressInfo).port}`, "--request", "GET /", "--expect-max-success", "0"]);
      expect(code).toBe(2);
      expect(stdout).toContain('malformed status line "HTTP/1.1 2\\x1b]0;t\\x07\\x1b[2J"');
      expect(stdout).not.toMatch(RAW_CONTROL);
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it("escapes control characters from the configuration and the command line, on stdout and stderr", async () => {
    const user = await cli(["probe", "--target", base, "--user", "al\u001b[31mice:pw-123", "--request", "GET /state", "--expect-max-success", "1"]);
    expect(user.stdout).toContain("(as al\\x1b[31mice)");
    expect(user.stdout).not.toMatch(RAW_CONTROL);
    const usage = await cli(["probe", "--target", base, "--request", "GET /", "--bogus\u001b]0;t\u0007\u202e"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("unknown option --bogus\\x1b]0;t\\x07\\u202e");
    expect(usage.stderr).not.toMatch(RAW_CONTROL);
    const target = await cli(["probe", "--target", "http://192.0.2.1\u202e:80/", "--request", "GET /", "--expect-max-success", "0"]);
    expect(target.stderr).not.toMatch(RAW_CONTROL);
    expect((await cli(["probe", "--help"])).stdout).not.toMatch(RAW_CONTROL);
  });

  it("redacts a secret that holds control characters in its escaped form too", () => {
    const s = new Secrets();
    s.add("pa\u001bss-word");
    expect(s.redact(`raw pa\u001bss-word, escaped ${escapeControl("pa\u001bss-word")}, JSON ${JSON.stringify("pa\u001bss-word")}`)).toBe('raw ***, escaped ***, JSON "***"');
  });
});
