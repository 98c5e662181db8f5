/**
 * Escaping for human-readable output. Source lines, file names, routes and messages come from
 * the scanned repository: printed raw, an ESC or OSC sequence could rewrite the terminal (move
 * the cursor, hide lines, set the window title, make links), a CR or newline could forge a
 * report line, and a bidi control could reorder what a reader sees (Trojan Source). Every
 * text report, listing and message shows them in a visible form instead: `\x1b`, `\r`,
 * `\n`, `\u202e`. JSON and SARIF need none of this: JSON.stringify escapes control characters.
 */

/**
 * C0 controls but tab, DEL, C1 controls, line and paragraph separators, and the bidi
 * embeddings, overrides, isolates and marks. Tab is left as it is: it moves the cursor forward
 * only, and escaping it would garble tab-indented code.
 */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r" };

/** `text` with every control character (see CONTROL) replaced by a visible escape. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Like `escapeControl`, but keeps line breaks (`\n`) as they are: for multi-line text the tool wrote itself, such as a stack trace. */
export function escapeControlKeepingLines(text: string): string {
  return text.split("\n").map(escapeControl).join("\n");
}
