/**
 * What the probe prints comes partly from elsewhere: the target's answers (setup values,
 * verification results, malformed status lines), the scenario file and the command line.
 * Control characters in them could drive the terminal (ESC and OSC sequences, a CR that
 * overwrites the line) or reorder what is shown (bidi controls), so every human-readable
 * output shows them as visible escapes. The same semantics as report/'s escapeControl.
 */

/** C0, DEL, C1, the Unicode line and paragraph separators, and the bidi embedding, override and isolate controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, but for the line feeds a multi-line report is made of. */
const CONTROL_BUT_LF = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves raw among those (it escapes C0 itself). */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const visible = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
};

/** A value for a terminal: `\x1b`, `\x0a`, `\u202e` instead of the characters themselves. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, visible);
}

/** Report text made of lines: like escapeControl, keeping its line feeds. */
export function escapeReport(text: string): string {
  return text.replace(CONTROL_BUT_LF, visible);
}

/** JSON text: the characters above that JSON.stringify leaves raw, as `\uNNNN` escapes (the same JSON value). */
export function escapeJson(json: string): string {
  return json.replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `U+010A`: a character named by its code point, for messages about one that cannot be shown as it is. */
export function describeCharacter(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}
