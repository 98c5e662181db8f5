/** `stalecheck probe`: its pure parts, and whole runs against a tiny local HTTP server. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.js";
import { compare, evaluateComparison, parseComparison, parseStatusSet } from "../src/probe/expect.js";
import { PendingRequest, encodeRequest, parseResponse } from "../src/probe/http.js";
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
}

let server: Server;
let base = "";
const state: ServerState = { used: false, redemptions: 0, order: [], waiting: [], authorizations: [], requests: 0 };

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
