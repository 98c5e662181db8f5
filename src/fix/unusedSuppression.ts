/**
 * STC001's fix (safe, as Ruff's RUF100): remove the codes of a suppression comment that
 * suppress nothing; the whole comment when nothing else is left in it, the whole line when the
 * comment stood alone on it. Codes of other tools (`E501`) and other remarks stay.
 */
import type { Finding } from "../core/finding.js";
import { type Suppression, UNUSED_SUPPRESSION_CODE, parseDirective, type RuleLookup } from "../analysis/suppressions.js";
import { type PySource, lineEnd, lineStart, walk } from "./pySource.js";
import type { BuiltFix } from "./types.js";

/** Which suppressions of the scanned files cover a finding, as the scan decided before it dropped those findings. */
export interface SuppressionContext {
  findRule: RuleLookup;
  /** Codes of the rules that ran: a suppression of another rule is not judged, so not removed. */
  ran: ReadonlySet<string>;
  /** Does this suppression, in `file`, cover a finding the rules reported? */
  isUsed(suppression: Suppression, file: string): boolean;
}

/** What a `noqa` list holds: codes (`STC101`, `E501`) and rule names (`missing-row-lock`), as in analysis/suppressions.ts. */
const CODE_TOKEN = /^(?:[A-Za-z]+\d+|[a-z][a-z0-9]*(?:-[a-z0-9]+)+)$/;

interface CodeList {
  /** Offsets of the list's tokens inside the comment. */
  tokens: { text: string; start: number; end: number }[];
  kind: "noqa" | "ignore";
  /** The clause (`noqa: A, B` or `stalecheck: ignore[A] -- reason`) inside the comment. */
  start: number;
  end: number;
}

/** The code lists of a comment, with positions: what parseDirective reads, located. */
function codeLists(comment: string): CodeList[] {
  const out: CodeList[] = [];
  for (const m of comment.matchAll(/\bnoqa\b[ \t]*:([^#]*)/gi)) {
    const listStart = m.index + m[0].length - m[1]!.length;
    // As parseDirective reads it: the codes up to the first word that is not one.
    const tokens: CodeList["tokens"] = [];
    for (const t of m[1]!.matchAll(/[^\s,]+/g)) {
      if (!CODE_TOKEN.test(t[0])) break;
      tokens.push({ text: t[0], start: listStart + t.index, end: listStart + t.index + t[0].length });
    }
    out.push({ kind: "noqa", tokens, start: m.index, end: tokens.at(-1)?.end ?? listStart });
  }
  for (const m of comment.matchAll(/\bstalecheck[ \t]*:[ \t]*(?:ignore-file|ignore)[ \t]*\[([^\]]*)\][^#]*/gi)) {
    const listStart = m.index + m[0].indexOf("[") + 1;
    const tokens = [...m[1]!.matchAll(/[^\s,]+/g)].map((t) => ({ text: t[0], start: listStart + t.index, end: listStart + t.index + t[0].length }));
    out.push({ kind: "ignore", tokens, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

export function removeUnusedSuppression(source: PySource, finding: Finding, context: SuppressionContext): BuiltFix {
  const comment = walk(source.root).find((n) => n.type === "comment" && n.startPosition.row + 1 === finding.line);
  if (!comment) return { reason: `no comment was found on line ${finding.line}` };
  const { suppressions } = parseDirective({ line: finding.line, text: comment.text }, context.findRule);
  const unused = suppressions.filter((s) => s.code === null || (s.code !== UNUSED_SUPPRESSION_CODE && context.ran.has(s.code) && !context.isUsed(s, finding.file)));
  if (unused.length === 0) return { reason: "the comment is not a directive stalecheck can read; rewrite it by hand" };
  const removed = new Set(unused.map((s) => `${s.kind === "noqa" ? "noqa" : "ignore"}:${s.written}`));
  let text = comment.text;
  // Right to left, so that earlier offsets stay valid.
  for (const list of codeLists(comment.text).sort((a, b) => b.start - a.start)) {
    const kept = list.tokens.filter((t) => !removed.has(`${list.kind}:${t.text}`));
    if (kept.length === list.tokens.length) continue;
    if (kept.length > 0) {
      const first = list.tokens[0]!.start;
      const last = list.tokens.at(-1)!.end;
      text = text.slice(0, first) + kept.map((t) => t.text).join(", ") + text.slice(last);
      continue;
    }
    text = text.slice(0, list.start) + text.slice(list.end);
  }
  // A `#` left with nothing after it (before the next `#` or the end) goes too.
  text = text.replace(/#[ \t]*(?=#|$)/g, "").trimEnd();
  const lineFrom = lineStart(source, finding.line);
  const before = source.text.slice(lineFrom, comment.startIndex);
  if (text !== "") {
    return { safety: "safe", title: `Remove ${describe(unused)} from the suppression comment`, edits: [{ file: source.path, start: comment.startIndex, end: comment.endIndex, newText: text }] };
  }
  if (before.trim() === "") {
    // The comment was alone on its line: the line goes, with its line ending.
    const next = finding.line < source.lineStarts.length ? lineStart(source, finding.line + 1) : lineEnd(source, finding.line);
    return { safety: "safe", title: "Remove the unused suppression comment", edits: [{ file: source.path, start: lineFrom, end: next, newText: "" }] };
  }
  const trailing = before.length - before.trimEnd().length;
  return { safety: "safe", title: "Remove the unused suppression comment", edits: [{ file: source.path, start: comment.startIndex - trailing, end: comment.endIndex, newText: "" }] };
}

function describe(unused: readonly Suppression[]): string {
  const codes = [...new Set(unused.map((s) => `\`${s.written}\``))];
  return codes.length === 1 ? codes[0]! : `${codes.slice(0, -1).join(", ")} and ${codes.at(-1)}`;
}
