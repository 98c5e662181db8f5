/**
 * Credentials never reach a report: every line the probe prints or writes goes through
 * redact(), which replaces each known secret (passwords, Basic tokens, values of sensitive
 * headers) wherever it appears.
 */
import { escapeControl } from "../report/escape.js";

export const REDACTED = "***";

const SENSITIVE_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-csrftoken)$|token|secret|password|api[-_]?key/i;

export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE_HEADER.test(name);
}

export class Secrets {
  private readonly values = new Set<string>();

  add(value: string | null | undefined): void {
    // Very short values would blank out ordinary text; they are still never printed on purpose.
    if (!value || value.length < 3) return;
    this.values.add(value);
    // Output escapes control characters (text) or quotes strings (JSON) before it is redacted
    // as a whole: the secret in those forms is a secret too.
    this.values.add(escapeControl(value));
    this.values.add(JSON.stringify(value).slice(1, -1));
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a password inside a longer token does not leave the token's rest behind.
    for (const value of [...this.values].sort((a, b) => b.length - a.length)) out = out.split(value).join(REDACTED);
    return out;
  }
}

/** A header for display: sensitive values are replaced whatever they contain. */
export function displayHeader(name: string, value: string): string {
  return `${name}: ${isSensitiveHeader(name) ? REDACTED : value}`;
}
