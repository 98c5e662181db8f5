/**
 * What the probe prints comes partly from elsewhere: the target's answers (setup values,
 * verification results, malformed status lines), the scenario file and the command line.
 * Control characters in them could drive the terminal (ESC and OSC sequences, a CR that
 * overwrites the line) or reorder what is shown (bidi controls), so every human-readable
 * output shows them as visible escapes, with report/escape.ts's escapeControl (one line) and
 * escapeControlKeepingLines (a report made of lines); JSON output as \u escapes.
 */

/** What JSON.stringify leaves raw among the controls report/escape.ts escapes (it escapes C0 itself). */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON text: the characters above that JSON.stringify leaves raw, as `\uNNNN` escapes (the same JSON value). */
export function escapeJson(json: string): string {
  return json.replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `U+010A`: a character named by its code point, for messages about one that cannot be shown as it is. */
export function describeCharacter(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}
