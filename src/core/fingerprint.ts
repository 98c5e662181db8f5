/**
 * Fingerprints survive line shifts and edits that change no code: they hash the rule, the file
 * (relative to the project root, so that scanning a subdirectory gives the same ones), the
 * function and the text of the check and use lines without comments or whitespace, plus an
 * occurrence number for identical twins. Baselines and SARIF's partialFingerprints rely on them.
 */
import { createHash } from "node:crypto";
import type { DraftFinding, Finding } from "./finding.js";

/** Maps a finding's `file` (relative to the scan root) to the path fingerprints use. */
export type FingerprintPath = (file: string) => string;

const asIs: FingerprintPath = (file) => file;

/** Fingerprints findings that are already in report order. */
export function fingerprint(findings: readonly DraftFinding[], path: FingerprintPath = asIs): Finding[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const key = identityKey(f, path);
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    const hash = createHash("sha256").update(`${key}\u0000${occurrence}`).digest("hex").slice(0, 16);
    return { ...f, fingerprint: hash };
  });
}

/** What stays the same across edits that only move a finding or touch its comments: all of it but line numbers. Twins share it. */
export function identityKey(f: Pick<Finding, "rule" | "file" | "function" | "check" | "use">, path: FingerprintPath = asIs): string {
  return [f.rule, path(f.file), f.function, codeOnly(f.check?.text ?? ""), codeOnly(f.use.text)].join("\u0000");
}

/** A line of Python without its comment and without any whitespace: `x = 1  # noqa: E501` is `x=1`. */
export function codeOnly(text: string): string {
  return withoutComment(text).replace(/\s+/g, "");
}

/** `text` up to a `#` that starts a comment, that is one outside string literals. */
function withoutComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === "\\") i++;
      else if (text.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = null;
      }
    } else if (c === "#") {
      return text.slice(0, i);
    } else if (c === '"' || c === "'") {
      quote = text.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += quote.length - 1;
    }
  }
  return text;
}
