/**
 * SARIF 2.1.0 for GitHub code scanning and other SARIF viewers. `locations[0]` is the use
 * site; related locations hold the check, lock and transaction sites; a thread flow runs
 * check → window → use; `partialFingerprints` carry the line-independent fingerprint.
 *
 * GitHub ranks a security alert by its rule's `security-severity` alone (a result's own
 * properties are not read), while one rule's findings range from low to critical. A finding
 * whose severity is not its rule's default is therefore reported under a descriptor of its
 * own, `STC102/critical` (a hierarchical rule id), whose `security-severity` is that severity's.
 */
import { isAbsolute, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { RuleMeta } from "../analysis/rule.js";
import type { Finding } from "../core/finding.js";
import { SEVERITIES, type Severity } from "../core/severity.js";
import { RULES } from "../rules/registry.js";
import type { ScanResult } from "../core/result.js";
import { HOMEPAGE, ruleDocUrl } from "./links.js";
import { ruleDocMarkdown } from "./ruleDocs.js";

export interface SarifOptions {
  /**
   * Directory artifact URIs are relative to (`%SRCROOT%`): the repository root in CI, where
   * code scanning resolves relative paths. Default: the scan's working directory.
   */
  baseDir?: string;
}

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT = "%SRCROOT%";
/** Key of the fingerprint in `partialFingerprints`; bump the version if the hash changes. */
export const FINGERPRINT_KEY = "stalecheckFingerprint/v2";

const LEVEL: Record<Severity, "error" | "warning" | "note"> = { critical: "error", high: "error", medium: "warning", low: "note" };
/** GitHub's scale (docs: "SARIF support for code scanning"): over 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: "9.5", high: "8.0", medium: "5.5", low: "3.0" };

type Json = Record<string, unknown>;

export function formatSarif(result: ScanResult, options: SarifOptions = {}): string {
  const baseDir = options.baseDir ?? result.cwd ?? result.root;
  const artifact = (file: string): Json => {
    const absolute = join(result.root, file);
    const rel = relative(baseDir, absolute);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return { uri: pathToFileURL(absolute).href };
    return { uri: rel.split(sep).map(encodeURIComponent).join("/"), uriBaseId: SRCROOT };
  };
  const descriptors = ruleDescriptors(result.findings);
  const ruleIndex = new Map(descriptors.map((d, i) => [d.id as string, i]));
  const sarif = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: result.tool.name,
            version: result.tool.version,
            semanticVersion: result.tool.version,
            informationUri: HOMEPAGE,
            rules: descriptors,
          },
        },
        originalUriBaseIds: { [SRCROOT]: { uri: `${pathToFileURL(baseDir).href.replace(/\/$/, "")}/` } },
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: result.errors.map((e) => ({
              level: "warning",
              message: { text: sentence(e.message) },
              locations: [{ physicalLocation: { artifactLocation: artifact(e.file), ...(e.line !== undefined ? { region: { startLine: e.line } } : {}) } }],
            })),
          },
        ],
        columnKind: "utf16CodeUnits",
        results: result.findings.map((f) => sarifResult(f, ruleIndex, artifact)),
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

/** The id a finding is reported under: its rule's code, with its severity when that is not the rule's default. */
function ruleIdOf(f: Finding): string {
  const meta = RULES.find((r) => r.meta.code === f.rule)?.meta;
  return meta && f.severity !== meta.defaultSeverity && isSecurityRule(meta) ? `${f.rule}/${f.severity}` : f.rule;
}

function isSecurityRule(meta: RuleMeta): boolean {
  return meta.code !== "STC001";
}

/** Every rule at its default severity, then a descriptor per rule and other severity that a finding has. */
function ruleDescriptors(findings: readonly Finding[]): Json[] {
  const out = RULES.map((r) => ruleDescriptor(r.meta, r.meta.defaultSeverity));
  const used = new Set(findings.map(ruleIdOf));
  for (const rule of RULES) {
    for (const severity of [...SEVERITIES].reverse()) {
      if (used.has(`${rule.meta.code}/${severity}`)) out.push(ruleDescriptor(rule.meta, severity));
    }
  }
  return out;
}

function ruleDescriptor(meta: RuleMeta, severity: Severity): Json {
  const security = isSecurityRule(meta);
  const url = ruleDocUrl(meta);
  const variant = severity !== meta.defaultSeverity;
  return {
    id: variant ? `${meta.code}/${severity}` : meta.code,
    name: variant ? `${meta.name}/${severity}` : meta.name,
    shortDescription: { text: plain(firstSentence(meta.docs.summary)), markdown: firstSentence(meta.docs.summary) },
    fullDescription: { text: plain(`${meta.docs.summary} ${meta.docs.why}`), markdown: `${meta.docs.summary}\n\n${meta.docs.why}` },
    help: { text: `${plain(meta.docs.summary)}\n\n${plain(meta.docs.why)}\n\nDocumentation: ${url}`, markdown: ruleDocMarkdown(meta) },
    helpUri: url,
    defaultConfiguration: { level: LEVEL[severity] },
    properties: security
      ? { tags: ["security", "CWE-367", "CWE-362", "external/cwe/cwe-367", "external/cwe/cwe-362"], "security-severity": SECURITY_SEVERITY[severity], severity }
      : { tags: ["maintainability"] },
  };
}

function sarifResult(f: Finding, ruleIndexes: ReadonlyMap<string, number>, artifact: (file: string) => Json): Json {
  const ruleId = ruleIdOf(f);
  const at = (line: number, endLine = line, column?: number, file = f.file): Json => ({
    artifactLocation: artifact(file),
    region: { startLine: line, ...(column !== undefined ? { startColumn: column } : {}), ...(endLine !== line ? { endLine } : {}) },
  });
  const related: { id: number; role: string; line: number; file?: string; message: string }[] = [];
  if (f.check) related.push({ id: related.length + 1, role: "check", line: f.check.line, ...(f.check.file ? { file: f.check.file } : {}), message: `Check (${f.check.kind}): ${code(f.check.text)}.` });
  if (f.lock) related.push({ id: related.length + 1, role: "lock", line: f.lock.line, message: `Lock: ${code(f.lock.text)}.` });
  if (f.transaction) related.push({ id: related.length + 1, role: "transaction", line: f.transaction.line, message: `Transaction: ${code(f.transaction.text)}.` });
  // The other uses the same check guards in this function.
  for (const use of f.uses) {
    if (use.line !== f.use.line || use.kind !== f.use.kind) related.push({ id: related.length + 1, role: "use", line: use.line, message: `Also guarded (${use.kind}): ${code(use.text)}.` });
  }
  // Links to related locations make code scanning show them next to the alert.
  const links = related.length > 0 ? ` Related: ${related.map((r) => `${r.role} on [${r.file ? `${r.file} ` : ""}line ${r.line}](${r.id})`).join(", ")}.` : "";
  const useMessage = `Use (${f.use.kind}): ${code(f.use.text)}.`;
  const out: Json = {
    ruleId,
    ruleIndex: ruleIndexes.get(ruleId) ?? -1,
    level: LEVEL[f.severity],
    message: { text: `${escapeLinks(sentence(f.message))}${links} Fix: ${escapeLinks(sentence(f.remediation))}` },
    locations: [{ physicalLocation: at(f.line, f.endLine, f.column), message: { text: useMessage }, logicalLocations: [{ fullyQualifiedName: f.function, kind: "function" }] }],
  };
  if (related.length > 0) out.relatedLocations = related.map((r) => ({ id: r.id, physicalLocation: at(r.line, r.line, undefined, r.file), message: { text: r.message } }));
  if (f.check) {
    const steps: { line: number; endLine?: number; file?: string; message: string; importance: string }[] = related.map((r) => ({
      line: r.line, ...(r.file ? { file: r.file } : {}), message: r.message, importance: r.role === "check" ? "essential" : "important",
    }));
    if (f.window && !f.check.file && f.use.line - f.check.line > 1) {
      const between = f.use.line - f.check.line - 1;
      steps.push({ line: f.check.line + 1, endLine: f.use.line - 1, message: `Window: ${between} ${between === 1 ? "line runs" : "lines run"} between check and use (${f.window}).`, importance: "important" });
    }
    steps.push({ line: f.line, endLine: f.endLine, message: useMessage, importance: "essential" });
    // A check in another file (a permission class) runs first; the rest in line order.
    steps.sort((a, b) => Number(!a.file) - Number(!b.file) || a.line - b.line);
    out.codeFlows = [
      {
        message: { text: `The decision made on ${f.check.file ? `${f.check.file} ` : ""}line ${f.check.line} is acted on at line ${f.line}.` },
        threadFlows: [
          {
            locations: steps.map((s, i) => ({
              location: { physicalLocation: at(s.line, s.endLine ?? s.line, undefined, s.file), message: { text: s.message } },
              executionOrder: i + 1,
              importance: s.importance,
            })),
          },
        ],
      },
    ];
  }
  out.partialFingerprints = { [FINGERPRINT_KEY]: f.fingerprint };
  out.properties = {
    severity: f.severity,
    confidence: f.confidence,
    function: f.function,
    basicAuth: f.basicAuth,
    route: f.route,
    ...(f.rule !== "STC001" ? { "security-severity": SECURITY_SEVERITY[f.severity] } : {}),
  };
  return out;
}

function firstSentence(text: string): string {
  const match = /^.*?[.!?](?=\s|$)/s.exec(text);
  return match ? match[0] : text;
}

function plain(markdown: string): string {
  return markdown.replace(/`/g, "");
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function code(text: string): string {
  return escapeLinks(`\`${text}\``);
}

/** Brackets that would read as a SARIF embedded link (`[text](id)`) are escaped. */
function escapeLinks(text: string): string {
  return text.replace(/\[([^\]]*)\]\(/g, "\\[$1\\](");
}
