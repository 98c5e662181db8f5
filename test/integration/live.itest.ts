/**
 * Static and dynamic agree. Starts the live demo (examples/billing on PostgreSQL and
 * gunicorn, scripts/demo/demo.sh), probes every endpoint pair with the scenario files in
 * examples/billing/probes/, and checks that
 *   - each vulnerable endpoint shows its race within ROUNDS rounds (all ROUNDS are run; the
 *     round of the first race and the number of racing rounds are recorded),
 *   - each fixed twin shows no race over the same ROUNDS rounds, every round judged,
 *   - the static scan of the same code flags exactly the vulnerable handlers, with the
 *     rules listed here, and none of the fixed ones,
 *   - no probe output contains a credential.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { scan } from "../../src/run/scan.js";

const ROOT = join(import.meta.dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "billing");
const ROUNDS = 5;

interface Pair {
  pair: number;
  probe: string;
  vulnerable: string;
  fixed: string;
  rules: string[];
}

const PAIRS: Pair[] = [
  { pair: 1, probe: "invoice-detail-revocation.yaml", vulnerable: "invoice_detail_vulnerable", fixed: "invoice_detail_fixed", rules: ["STC101"] },
  { pair: 2, probe: "invoice-charge-revocation.yaml", vulnerable: "PayInvoiceVulnerable.post", fixed: "PayInvoiceFixed.post", rules: ["STC101", "STC102"] },
  { pair: 2, probe: "invoice-charge-twice.yaml", vulnerable: "PayInvoiceVulnerable.post", fixed: "PayInvoiceFixed.post", rules: ["STC101", "STC102"] },
  { pair: 3, probe: "invoice-quota.yaml", vulnerable: "create_invoice_vulnerable", fixed: "create_invoice_fixed", rules: ["STC108"] },
  { pair: 4, probe: "invoice-void-vs-wallet.yaml", vulnerable: "void_invoice_vulnerable", fixed: "void_invoice_fixed", rules: ["STC105"] },
  { pair: 5, probe: "wallet-pay-vs-charge.yaml", vulnerable: "WalletViewSet.pay_invoice_vulnerable", fixed: "WalletViewSet.pay_invoice_fixed", rules: ["STC105"] },
  { pair: 6, probe: "voucher-redeem.yaml", vulnerable: "WalletViewSet.redeem_voucher_vulnerable", fixed: "WalletViewSet.redeem_voucher_fixed", rules: ["STC102"] },
];

interface ProbeSummary {
  verdict: string;
  roundsRun: number;
  roundsViolated: number;
  firstViolationRound: number | null;
  roundsWithErrors: number;
  requests: number;
  durationMs: number;
}

interface Row {
  pair: number;
  probe: string;
  variant: "vulnerable" | "fixed";
  exitCode: number;
  summary: ProbeSummary;
  staticFindings: string;
}

const started = Date.now();
const pointerDir = mkdtempSync(join(tmpdir(), "stalecheck-itest-"));
const demoEnv: Record<string, string> = {};
const rows: Row[] = [];
const secrets: string[] = [];
let findingsByFunction = new Map<string, string[]>();

function demo(command: "start" | "stop") {
  return spawnSync("bash", [join(ROOT, "scripts", "demo", "demo.sh"), command], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 15 * 60_000,
    env: { ...process.env, STALECHECK_DEMO_POINTER: join(pointerDir, "current") },
  });
}

async function probe(pair: Pair, variant: "vulnerable" | "fixed"): Promise<{ exitCode: number; report: { summary: ProbeSummary; rounds: unknown[] }; output: string }> {
  let stdout = "";
  let stderr = "";
  const exitCode = await main(
    [
      "probe", "--scenario", join(EXAMPLE, "probes", pair.probe), "--target", demoEnv.BILLING_DEMO_URL!,
      "--var", `variant=${variant}`, "--rounds", String(ROUNDS), "--format", "json",
    ],
    {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      cwd: ROOT,
      env: { ...process.env, ...demoEnv },
      stdoutIsTTY: false,
    },
  );
  if (exitCode === 2) throw new Error(`probe ${pair.probe} (${variant}) could not run:\n${stderr}\n${stdout}`);
  return { exitCode, report: JSON.parse(stdout), output: stdout + stderr };
}

beforeAll(async () => {
  const result = demo("start");
  if (result.status !== 0) throw new Error(`npm run demo failed (${result.status}):\n${result.stderr}\n${result.stdout}`);
  const dir = readFileSync(join(pointerDir, "current"), "utf8").trim();
  for (const line of readFileSync(join(dir, "demo.env"), "utf8").split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) demoEnv[line.slice(0, eq)] = line.slice(eq + 1);
  }
  for (const name of ["BILLING_ADMIN", "BILLING_STAFF", "BILLING_CUSTOMER"]) {
    const credential = demoEnv[name]!;
    secrets.push(credential.slice(credential.indexOf(":") + 1), Buffer.from(credential).toString("base64"));
  }
  const result2 = await scan({ paths: [EXAMPLE] });
  findingsByFunction = new Map();
  for (const f of result2.findings) findingsByFunction.set(f.function, [...(findingsByFunction.get(f.function) ?? []), `${f.rule}@${f.line}`]);
});

afterAll(() => {
  const stopped = demo("stop");
  rmSync(pointerDir, { recursive: true, force: true });
  const wallSeconds = ((Date.now() - started) / 1000).toFixed(1);
  const lines = [
    "pair  probe                            variant     exit  rounds  violated  first  requests  seconds  static findings",
    ...rows.map((r) =>
      [
        String(r.pair).padEnd(5), r.probe.replace(/\.yaml$/, "").padEnd(32), r.variant.padEnd(11), String(r.exitCode).padEnd(5),
        String(r.summary.roundsRun).padEnd(7), String(r.summary.roundsViolated).padEnd(9), String(r.summary.firstViolationRound ?? "-").padEnd(6),
        String(r.summary.requests).padEnd(9), (r.summary.durationMs / 1000).toFixed(1).padEnd(8), r.staticFindings,
      ].join(" "),
    ),
    `integration test wall time: ${wallSeconds} s (demo stop: exit ${stopped.status})`,
  ];
  const table = lines.join("\n");
  console.log(`\n${table}\n`);
  const reportFile = process.env.STALECHECK_INTEGRATION_REPORT;
  if (reportFile) writeFileSync(reportFile, `${JSON.stringify({ rows, wallSeconds: Number(wallSeconds) }, null, 2)}\n`);
});

describe("static scan of examples/billing", () => {
  it("flags exactly the vulnerable handlers, with the expected rules, and no fixed twin", () => {
    const vulnerable = new Map<string, Set<string>>();
    for (const p of PAIRS) vulnerable.set(p.vulnerable, new Set([...(vulnerable.get(p.vulnerable) ?? []), ...p.rules]));
    expect([...findingsByFunction.keys()].sort()).toEqual([...vulnerable.keys()].sort());
    for (const [fn, rules] of vulnerable) {
      const got = new Set(findingsByFunction.get(fn)!.map((f) => f.split("@")[0]));
      expect([...got].sort(), fn).toEqual([...rules].sort());
    }
    for (const p of PAIRS) expect(findingsByFunction.get(p.fixed), p.fixed).toBeUndefined();
  });
});

describe.each(PAIRS)("pair $pair, $probe", (pair) => {
  it(`the vulnerable endpoint races within ${ROUNDS} rounds`, async () => {
    const { exitCode, report, output } = await probe(pair, "vulnerable");
    rows.push({ pair: pair.pair, probe: pair.probe, variant: "vulnerable", exitCode, summary: report.summary, staticFindings: (findingsByFunction.get(pair.vulnerable) ?? []).join(" ") || "none" });
    for (const secret of secrets) expect(output.includes(secret), "a credential was printed").toBe(false);
    expect(exitCode).toBe(1);
    expect(report.summary.verdict).toBe("race");
    expect(report.summary.firstViolationRound).not.toBeNull();
    expect(report.summary.firstViolationRound!).toBeLessThanOrEqual(ROUNDS);
    expect(report.summary.roundsRun).toBe(ROUNDS);
  });

  it(`the fixed twin never races over the same ${ROUNDS} rounds`, async () => {
    const { exitCode, report, output } = await probe(pair, "fixed");
    rows.push({ pair: pair.pair, probe: pair.probe, variant: "fixed", exitCode, summary: report.summary, staticFindings: (findingsByFunction.get(pair.fixed) ?? []).join(" ") || "none" });
    for (const secret of secrets) expect(output.includes(secret), "a credential was printed").toBe(false);
    expect(report.summary.roundsRun).toBe(ROUNDS);
    expect(report.summary.roundsWithErrors, JSON.stringify(report.rounds, null, 1)).toBe(0);
    expect(report.summary.roundsViolated).toBe(0);
    expect(exitCode).toBe(0);
  });
});
