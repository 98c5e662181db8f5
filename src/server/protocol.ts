/**
 * Findings and fixes in the Language Server Protocol's terms: a diagnostic at the use with the
 * check (and lock, transaction) as related information, quick-fix code actions whose edits are
 * the fix's, and the rule's documentation as hover text.
 */
import type { CodeAction, Diagnostic, DiagnosticSeverity, Hover, Range, TextEdit as LspTextEdit } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Finding } from "../core/finding.js";
import type { FixOptions } from "../fix/dispatch.js";
import type { Fix } from "../fix/types.js";
import { ruleDocUrl } from "../report/links.js";
import { ruleDocMarkdown } from "../report/ruleDocs.js";
import { findRule } from "../rules/registry.js";

export const SOURCE = "stalecheck";

/** What a diagnostic carries back to the server in a code action request. */
export interface DiagnosticData {
  fingerprint: string;
}

const SEVERITY: Record<Finding["severity"], DiagnosticSeverity> = { critical: 1, high: 1, medium: 2, low: 3 };

/** The whole of lines `from`..`to` (1-based) of a document, without leading indentation. */
export function lineRange(document: TextDocument, from: number, to = from): Range {
  const text = document.getText();
  const start = document.offsetAt({ line: from - 1, character: 0 });
  const indent = /^[ \t]*/.exec(text.slice(start))![0].length;
  const endOffset = document.offsetAt({ line: to, character: 0 });
  const endText = text.slice(document.offsetAt({ line: to - 1, character: 0 }), endOffset).replace(/\r?\n$/, "");
  return { start: { line: from - 1, character: indent }, end: { line: to - 1, character: endText.length } };
}

export function toDiagnostic(finding: Finding, document: TextDocument, uriOf: (path: string) => string): Diagnostic {
  const rule = findRule(finding.rule);
  const related = [];
  if (finding.check) {
    const uri = uriOf(finding.check.file ?? finding.file);
    related.push({ location: { uri, range: { start: { line: finding.check.line - 1, character: 0 }, end: { line: finding.check.line, character: 0 } } }, message: `check: ${finding.check.text}` });
  }
  for (const [what, site] of [["lock", finding.lock], ["transaction", finding.transaction]] as const) {
    if (site) related.push({ location: { uri: uriOf(finding.file), range: { start: { line: site.line - 1, character: 0 }, end: { line: site.line, character: 0 } } }, message: `${what}: ${site.text}` });
  }
  const data: DiagnosticData = { fingerprint: finding.fingerprint };
  return {
    range: lineRange(document, finding.line, Math.max(finding.line, finding.endLine)),
    severity: SEVERITY[finding.severity],
    code: finding.rule,
    ...(rule ? { codeDescription: { href: ruleDocUrl(rule.meta) } } : {}),
    source: SOURCE,
    message: `${finding.name} (${finding.severity}): ${finding.message}`,
    ...(related.length > 0 ? { relatedInformation: related } : {}),
    data,
  };
}

function toEdits(fix: Fix, document: TextDocument): LspTextEdit[] {
  return fix.edits.map((e) => ({ range: { start: document.positionAt(e.start), end: document.positionAt(e.end) }, newText: e.newText }));
}

/** One quick fix per fix found, the safe ones preferred; edits carry the document's version so that a stale one is refused. */
export function toCodeActions(proposal: FixOptions, diagnostic: Diagnostic, document: TextDocument, uri: string): CodeAction[] {
  return proposal.fixes.map((fix, i) => ({
    title: `${fix.title} (${fix.safety} fix)`,
    kind: "quickfix",
    diagnostics: [diagnostic],
    isPreferred: i === 0 && fix.safety === "safe",
    edit: { documentChanges: [{ textDocument: { uri, version: document.version }, edits: toEdits(fix, document) }] },
  }));
}

/** `source.fixAll.stalecheck`: the safe fixes of a document whose edits do not overlap. */
export function fixAllAction(fixes: readonly Fix[], document: TextDocument, uri: string): CodeAction | null {
  if (fixes.length === 0) return null;
  return {
    title: `Fix all safely fixable stalecheck findings (${fixes.length})`,
    kind: "source.fixAll.stalecheck",
    edit: { documentChanges: [{ textDocument: { uri, version: document.version }, edits: fixes.flatMap((f) => toEdits(f, document)) }] },
  };
}

/** The findings on a line, with what a fix would do, and their rules' documentation. */
export function hoverFor(findings: readonly Finding[], proposals: readonly FixOptions[]): Hover | null {
  if (findings.length === 0) return null;
  const parts: string[] = [];
  const rules = new Set<string>();
  for (const f of findings) {
    const proposal = proposals.find((p) => p.finding.fingerprint === f.fingerprint);
    const fix = proposal?.fixes[0];
    parts.push(
      [
        `**${f.rule} ${f.name}** (${f.severity}, confidence ${f.confidence})${f.check ? ` — check on line ${f.check.line}: \`${f.check.text}\`` : ""}`,
        "",
        f.message,
        "",
        `**Remediation:** ${f.remediation}`,
        "",
        fix ? `**Quick fix (${fix.safety}):** ${fix.title}${fix.unsafeBecause ? ` — unsafe because ${fix.unsafeBecause}` : ""}` : `**No automatic fix:** ${proposal?.reasons[0] ?? "none applies"}`,
      ].join("\n"),
    );
    rules.add(f.rule);
  }
  for (const code of rules) {
    const rule = findRule(code);
    if (rule) parts.push(ruleDocMarkdown(rule.meta));
  }
  return { contents: { kind: "markdown", value: parts.join("\n\n---\n\n") } };
}
