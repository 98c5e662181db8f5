/**
 * Expectations a probe round must satisfy: at most K successful race responses, and
 * comparisons over the JSON answer of the verification request (`payments <= 1`,
 * `events.length == 0`, `status != "void"`).
 */

export type Operator = "==" | "!=" | "<" | "<=" | ">" | ">=";
const OPERATORS: readonly Operator[] = ["==", "!=", "<=", ">=", "<", ">"];

export interface Comparison {
  /** As written, for reports. */
  text: string;
  path: string[];
  op: Operator;
  value: unknown;
}

export class ExpectationError extends Error {}

/** `PATH OP VALUE`: PATH is dot-separated (`items.0.status`, `events.length`; `$` is the whole answer), VALUE a JSON literal or a bare word. */
export function parseComparison(text: string): Comparison {
  const match = /^\s*([^\s=!<>]+)\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*$/.exec(text);
  if (!match || match[3] === "") {
    throw new ExpectationError(`expectation "${text}" is not "PATH OP VALUE" with OP one of ${OPERATORS.join(" ")} (for example "payments <= 1")`);
  }
  const rawPath = match[1]!;
  const path = rawPath === "$" ? [] : rawPath.replace(/^\$\./, "").replace(/\[(\d+)\]/g, ".$1").split(".");
  if (path.some((segment) => segment === "")) throw new ExpectationError(`expectation "${text}" has an empty path segment`);
  return { text: `${rawPath} ${match[2]} ${match[3]}`, path, op: match[2] as Operator, value: parseLiteral(match[3]!) };
}

function parseLiteral(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.replace(/^'(.*)'$/, "$1");
  }
}

export type Lookup = { found: true; value: unknown } | { found: false };

export function lookupPath(document: unknown, path: readonly string[]): Lookup {
  let current: unknown = document;
  for (const segment of path) {
    if (Array.isArray(current)) {
      if (segment === "length") current = current.length;
      else if (/^\d+$/.test(segment) && Number(segment) < current.length) current = current[Number(segment)];
      else return { found: false };
    } else if (current !== null && typeof current === "object" && Object.prototype.hasOwnProperty.call(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else if (typeof current === "string" && segment === "length") {
      current = current.length;
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}

export interface ComparisonResult {
  expectation: string;
  /** The value found at the path; undefined when the path is missing. */
  actual: unknown;
  /** null: the path was not in the answer, so nothing could be decided. */
  holds: boolean | null;
}

export function evaluateComparison(comparison: Comparison, document: unknown): ComparisonResult {
  const lookup = lookupPath(document, comparison.path);
  if (!lookup.found) return { expectation: comparison.text, actual: undefined, holds: null };
  return { expectation: comparison.text, actual: lookup.value, holds: compare(lookup.value, comparison.op, comparison.value) };
}

/** Numbers and numeric strings (DRF serialises decimals as "10.00") compare as numbers; anything else by JSON equality. */
export function compare(actual: unknown, op: Operator, expected: unknown): boolean {
  const a = asNumber(actual);
  const b = asNumber(expected);
  if (a !== null && b !== null) {
    switch (op) {
      case "==": return a === b;
      case "!=": return a !== b;
      case "<": return a < b;
      case "<=": return a <= b;
      case ">": return a > b;
      case ">=": return a >= b;
    }
  }
  if (op === "==") return jsonEqual(actual, expected);
  if (op === "!=") return !jsonEqual(actual, expected);
  if (typeof actual === "string" && typeof expected === "string") {
    switch (op) {
      case "<": return actual < expected;
      case "<=": return actual <= expected;
      case ">": return actual > expected;
      case ">=": return actual >= expected;
    }
  }
  return false;
}

function asNumber(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
  return null;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Which statuses count as a success: "2xx" (default), or a list such as "200,201" or "2xx,302". */
export function parseStatusSet(text: string): (status: number) => boolean {
  const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new ExpectationError("the success status list is empty");
  const tests = parts.map((part) => {
    if (/^[1-5]xx$/i.test(part)) {
      const hundred = Number(part[0]) * 100;
      return (s: number) => s >= hundred && s < hundred + 100;
    }
    if (/^[1-5]\d\d$/.test(part)) return (s: number) => s === Number(part);
    throw new ExpectationError(`"${part}" is not a status code (200) or class (2xx)`);
  });
  return (status) => tests.some((t) => t(status));
}
