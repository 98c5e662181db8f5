/**
 * Inline suppressions, applied per file after the rules ran:
 *
 *   `# noqa: STC101` / `# noqa: missing-row-lock`   this line (the use or the check line)
 *   `# stalecheck: ignore[STC101] -- reason`        this line and the next one
 *   `# stalecheck: ignore-file[STC105]`             the whole file
 *
 * A bare `# noqa` is not a stalecheck suppression: it is written for other linters and would
 * silence every race on the line. Suppressions that suppress nothing become STC001 findings.
 */
import type { DraftFinding as Draft } from "../core/finding.js";
import type { Directive, FileFacts } from "../extract/facts.js";
import type { Rule, RuleMeta } from "./rule.js";

/** The rule that reports suppressions that suppress nothing. */
export const UNUSED_SUPPRESSION_CODE = "STC001";

/** Finds a rule by code (`STC101`) or name (`missing-row-lock`), case-insensitively. */
export type RuleLookup = (codeOrName: string) => Rule | undefined;

export type SuppressionKind = "noqa" | "ignore" | "ignore-file";

export interface Suppression {
  kind: SuppressionKind;
  /** Line of the comment. */
  line: number;
  /** The rule selector as written (`STC101`, `missing-row-lock`). */
  written: string;
  /** The code of the rule it names; null when it names no stalecheck rule. */
  code: string | null;
}

export interface ParsedDirective {
  directive: Directive;
  suppressions: Suppression[];
  /** Why a `stalecheck:` comment could not be read. */
  problems: string[];
}

/** A token that looks like a lint code (`STC101`, `E501`, `S608`) or a rule name (`missing-row-lock`). */
const CODE_TOKEN = /^(?:[A-Za-z]+\d+|[a-z][a-z0-9]*(?:-[a-z0-9]+)+)$/;
const NOQA = /\bnoqa\b[ \t]*(:?)([^#]*)/gi;
const STALECHECK = /\bstalecheck[ \t]*:([^#]*)/gi;
const STALECHECK_BODY = /^(ignore-file|ignore)[ \t]*\[([^\]]*)\]/i;

export function parseDirective(directive: Directive, findRule: RuleLookup): ParsedDirective {
  const suppressions: Suppression[] = [];
  const problems: string[] = [];
  const line = directive.line;
  for (const match of directive.text.matchAll(NOQA)) {
    // `# noqa` without codes is ignored (see above); so are other tools' codes after `noqa:`.
    if (match[1] !== ":") continue;
    for (const token of match[2]!.split(/[\s,]+/).filter(Boolean)) {
      if (!CODE_TOKEN.test(token)) break;
      const rule = findRule(token);
      if (rule) suppressions.push({ kind: "noqa", line, written: token, code: rule.meta.code });
      else if (/^stc\d+$/i.test(token)) suppressions.push({ kind: "noqa", line, written: token, code: null });
    }
  }
  for (const match of directive.text.matchAll(STALECHECK)) {
    const body = match[1]!.trim();
    const parsed = STALECHECK_BODY.exec(body);
    if (!parsed) {
      // Other `stalecheck:` remarks (the examples' `# stalecheck: expect STC101`) are prose;
      // only what looks like an attempt at a directive is reported.
      if (/^ignore(?:-file)?(?:$|[ \t,]+(?:STC\d+|[a-z]+(?:-[a-z0-9]+)+)(?:$|[\s,]))/i.test(body)) problems.push(`\`# stalecheck: ${body.split(/[\s[]/)[0]}\` needs the rules it ignores in brackets`);
      else if (/^[\w-]+[ \t]*\[/.test(body)) problems.push(`\`${body.split("[")[0]!.trim()}\` is not a stalecheck directive (\`ignore\` or \`ignore-file\`)`);
      continue;
    }
    const kind = parsed[1]!.toLowerCase() as SuppressionKind;
    const tokens = parsed[2]!.split(/[\s,]+/).filter(Boolean);
    if (tokens.length === 0) problems.push(`\`# stalecheck: ${kind}[]\` names no rule`);
    for (const token of tokens) suppressions.push({ kind, line, written: token, code: findRule(token)?.meta.code ?? null });
  }
  return { directive, suppressions, problems };
}

/** The file of a finding's check: another file's when the check lives elsewhere (a permission class). */
function checkFileOf(finding: Pick<Draft, "file" | "check">): string {
  return finding.check?.file ?? finding.file;
}

/** Whether a suppression in `file` covers a finding: its use lines or its check line. */
export function covers(suppression: Suppression, file: string, finding: Pick<Draft, "rule" | "file" | "line" | "endLine" | "check">): boolean {
  if (suppression.code !== finding.rule) return false;
  const atUse = file === finding.file;
  const atCheck = finding.check !== null && file === checkFileOf(finding);
  if (suppression.kind === "ignore-file") return atUse;
  const touches = (line: number) => (atUse && line >= finding.line && line <= finding.endLine) || (atCheck && line === finding.check!.line);
  return touches(suppression.line) || (suppression.kind === "ignore" && touches(suppression.line + 1));
}

/**
 * Drops the findings that suppressions in the analysed files cover and, when STC001 is among
 * the rules that ran, adds an STC001 finding for each suppression that covered nothing. A
 * suppression of a rule that did not run is not judged. `findRule` knows every rule, run or not.
 */
export function applySuppressions(files: readonly FileFacts[], findings: readonly Draft[], ran: readonly Rule[], findRule: RuleLookup): Draft[] {
  const parsed = new Map(files.map((file) => [file.path, file.directives.map((d) => parseDirective(d, findRule))]));
  const byFile = new Map([...parsed].map(([path, directives]) => [path, suppressionsByLine(directives.flatMap((p) => p.suppressions))]));
  const coveredBy = (finding: Draft): Suppression[] => {
    const paths = [...new Set([finding.file, checkFileOf(finding)])];
    return paths.flatMap((path) => candidates(byFile.get(path), finding).filter((s) => covers(s, path, finding)));
  };
  const used = new Set<Suppression>();
  const kept = findings.filter((finding) => {
    const by = coveredBy(finding);
    for (const s of by) used.add(s);
    return by.length === 0;
  });
  const unusedRule = ran.find((r) => r.meta.code === UNUSED_SUPPRESSION_CODE);
  if (!unusedRule) return kept;
  const ranCodes = new Set(ran.map((r) => r.meta.code));
  const unused: Draft[] = [];
  for (const file of files) {
    const directives = parsed.get(file.path)!;
    if (directives.length === 0) continue;
    const functionAt = innermostByLine(file);
    const unusedFinding = (directive: Directive, message: string, remediation: string) => unusedDraft(unusedRule.meta, file, functionAt, directive, message, remediation);
    for (const { directive, suppressions, problems } of directives) {
      for (const problem of problems) {
        unused.push(unusedFinding(directive, `${problem}, so it suppresses nothing.`,
          "Write `# stalecheck: ignore[STC101] -- reason` (this line and the next), `# stalecheck: ignore-file[STC101]` (the whole file) or `# noqa: STC101` (this line); `stalecheck rules` lists the codes."));
      }
      for (const s of suppressions) {
        if (s.code === null) {
          unused.push(unusedFinding(directive, `\`${s.written}\` names no stalecheck rule, so it suppresses nothing.`,
            `Use a code or name that \`stalecheck rules\` lists, or remove \`${s.written}\` from the comment.`));
        } else if (s.code !== UNUSED_SUPPRESSION_CODE && ranCodes.has(s.code) && !used.has(s)) {
          const rule = findRule(s.code)!;
          const where = s.kind === "ignore-file" ? "in this file" : s.kind === "ignore" ? `on line ${s.line} or ${s.line + 1}` : `on line ${s.line}`;
          unused.push(unusedFinding(directive, `This ${s.kind === "noqa" ? "`noqa`" : `\`stalecheck: ${s.kind}\``} comment suppresses nothing for \`${s.written}\`: no ${rule.meta.code} (${rule.meta.name}) finding is reported ${where}.`,
            `Remove \`${s.written}\` from the comment, or the whole comment if it names nothing else; if the finding moved, move the suppression with it.`));
        }
      }
    }
  }
  // STC001 findings can be suppressed like any other (`# noqa: STC001`).
  return [...kept, ...unused.filter((f) => coveredBy(f).length === 0)];
}

function unusedDraft(meta: RuleMeta, file: FileFacts, functionAt: readonly (string | undefined)[], directive: Directive, message: string, remediation: string): Draft {
  const text = directive.text.trim();
  return {
    rule: meta.code,
    name: meta.name,
    severity: meta.defaultSeverity,
    confidence: "high",
    file: file.path,
    function: functionAt[directive.line] ?? "<module>",
    line: directive.line,
    column: 1,
    endLine: directive.line,
    check: null,
    use: { line: directive.line, text: text.length > 200 ? `${text.slice(0, 197)}...` : text, kind: "suppression" },
    uses: [{ line: directive.line, text: text.length > 200 ? `${text.slice(0, 197)}...` : text, kind: "suppression" }],
    basicAuth: false,
    route: null,
    message,
    remediation,
  };
}

/**
 * For each line up to the file's last directive, the innermost function the line belongs to:
 * of the functions spanning it, the one that starts last (the later one on a tie).
 */
function innermostByLine(file: FileFacts): (string | undefined)[] {
  const last = file.directives.reduce((max, d) => Math.max(max, d.line), 0);
  const lines = new Array<string | undefined>(last + 1);
  // Filled in order of start line, so that a function starting later overwrites one around it.
  const order = file.functions.map((fn, at) => ({ fn, at })).sort((a, b) => a.fn.site.line - b.fn.site.line || a.at - b.at);
  for (const { fn } of order) {
    for (let line = fn.site.line; line <= Math.min(fn.site.endLine, last); line++) lines[line] = fn.name;
  }
  return lines;
}

interface SuppressionIndex {
  byLine: Map<number, Suppression[]>;
  wholeFile: Suppression[];
}

function suppressionsByLine(suppressions: readonly Suppression[]): SuppressionIndex {
  const index: SuppressionIndex = { byLine: new Map(), wholeFile: [] };
  for (const s of suppressions) {
    if (s.kind === "ignore-file") {
      index.wholeFile.push(s);
      continue;
    }
    const list = index.byLine.get(s.line);
    if (list) list.push(s);
    else index.byLine.set(s.line, [s]);
  }
  return index;
}

/**
 * The suppressions of a file that may cover a finding (`covers` decides): those of the whole
 * file, and those on the finding's lines or its check line, or on the line before (an `ignore`
 * covers the next line too). Looked up by line rather than over every suppression of the file.
 */
function candidates(index: SuppressionIndex | undefined, finding: Pick<Draft, "line" | "endLine" | "check">): Suppression[] {
  if (!index) return [];
  const out = [...index.wholeFile];
  const lines = new Set<number>();
  for (let line = finding.line - 1; line <= finding.endLine; line++) lines.add(line);
  if (finding.check) lines.add(finding.check.line - 1).add(finding.check.line);
  for (const line of lines) out.push(...(index.byLine.get(line) ?? []));
  return out;
}
