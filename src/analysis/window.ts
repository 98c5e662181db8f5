/**
 * The window between a check and its use: what runs there (queries, calls, slow work, loops),
 * whether it is wide enough to matter, and how to say it in a message or a code frame.
 */
import type { CheckEvent, FunctionEvent, Region, Span } from "../extract/facts.js";
import type { ModelCore } from "./model.js";
import { checkPosition } from "./scopes.js";

/** What runs between a check's position and its use's: the events and the loops started there. */
interface Between {
  events: FunctionEvent[];
  loops: Region[];
}

const inSpans = (pos: number, spans: readonly Span[]) => spans.some(([start, end]) => pos >= start && pos < end);

/**
 * The branches of the check at `from` that do not run on the way to `to`: the failing side
 * that exits (`if not ok: log(); raise`), an `else` of the branch the use is in. Work there
 * happens instead of the use, not before it.
 */
function awayBranches(model: ModelCore, from: number, to: number): Span[] {
  const check = model.events.find((e): e is CheckEvent => e.type === "check" && checkPosition(e) === from);
  return check && inSpans(to, check.scopes) ? check.scopes.filter((scope) => !inSpans(to, [scope])) : [];
}

/** The events and loops strictly between two positions, outside the check's away branches. */
function between(model: ModelCore, from: number, to: number): Between {
  const away = awayBranches(model, from, to);
  return {
    events: model.events.filter((e) => e.pos > from && e.pos < to && !inSpans(e.pos, away)),
    loops: model.fn.regions.filter((r) => r.kind === "loop" && r.span[0] > from && r.span[0] < to && !inSpans(r.span[0], away)),
  };
}

/** Events that widen a race window: queries, writes, calls, slow work. */
const widens = (e: FunctionEvent) => e.type === "fetch" || e.type === "write" || e.type === "call" || e.type === "slow";

/**
 * Slow work between two positions: network or file I/O, sleeps, calls to helpers that do such
 * work, and loops that query the database.
 */
export function slowWork(model: ModelCore, from: number, to: number): boolean {
  const { events, loops } = between(model, from, to);
  if (events.some((e) => e.type === "slow")) return true;
  return loops.some((loop) =>
    model.events.some((e) => (e.type === "fetch" || e.type === "write") && e.pos >= loop.span[0] && e.pos < loop.span[1] && e.pos < to));
}

/**
 * Two adjacent statements (DESIGN §2 "low"): nothing touches the database, the network or a
 * loop in between, and the use follows the check's guard directly (`if not ok: return` + use).
 */
export function isAdjacent(model: ModelCore, check: CheckEvent, usePos: number, useLine: number): boolean {
  const { events, loops } = between(model, checkPosition(check), usePos);
  return !events.some(widens) && loops.length === 0 && useLine - check.site.endLine <= 2;
}

/** A short description of what runs between check and use, for messages. */
export function describeWindow(model: ModelCore, from: number, to: number): string {
  const { events, loops } = between(model, from, to);
  const tally = tallyWindow(events.filter(widens));
  const parts: string[] = [];
  if (tally.slow.length > 0) parts.push(tally.slow.join(", "));
  if (tally.queries > 0) parts.push(`${tally.queries} other ${tally.queries === 1 ? "query" : "queries"}`);
  if (tally.calls > 0) parts.push(`${tally.calls} ${tally.calls === 1 ? "call" : "calls"}`);
  if (loops.length > 0) parts.push("a loop");
  return parts.length > 0 ? parts.join(", ") : "only Python statements, but the read and the write are separate round trips";
}

/**
 * What runs on the lines strictly between a check and its use ("requests.post() on line 78,
 * 2 queries, 1 call, a loop"), for code frames and SARIF thread flows. Null when no line lies
 * between them.
 */
export function windowBetween(model: ModelCore, checkLine: number, useLine: number, positions?: { from: number; to: number }): string | null {
  if (useLine - checkLine < 2) return null;
  const away = positions ? awayBranches(model, positions.from, positions.to) : [];
  const inside = (line: number, pos: number) => line > checkLine && line < useLine && !inSpans(pos, away);
  const { slow, queries, calls } = tallyWindow(model.events.filter((e) => inside(e.site.line, e.pos)));
  const loops = model.fn.regions.filter((r) => r.kind === "loop" && inside(r.site.line, r.span[0])).length;
  const parts = [...slow];
  if (queries > 0) parts.push(`${queries} ${queries === 1 ? "query" : "queries"}`);
  if (calls > 0) parts.push(`${calls} ${calls === 1 ? "call" : "calls"}`);
  if (loops > 0) parts.push(loops === 1 ? "a loop" : `${loops} loops`);
  return parts.length > 0 ? parts.join(", ") : "no query, call or I/O";
}

/** The work among some events, tallied for window descriptions: slow work by name, queries, calls. */
function tallyWindow(events: readonly FunctionEvent[]): { slow: string[]; queries: number; calls: number } {
  return {
    slow: events.flatMap((e) => (e.type === "slow" ? [`${e.what}() on line ${e.site.line}`] : [])),
    queries: events.filter((e) => e.type === "fetch" || e.type === "write").length,
    calls: events.filter((e) => e.type === "call").length,
  };
}

/**
 * The transaction a region stands for, as a message names it: a `transaction.atomic()` of the
 * code by its line, or the request's own transaction that `ATOMIC_REQUESTS` opens (whose
 * region starts at the view's `def`, which is not where any transaction is written).
 */
export function describeTransaction(region: Region): string {
  return region.site.text.startsWith("ATOMIC_REQUESTS")
    ? "the request's transaction (ATOMIC_REQUESTS in the settings)"
    : `the transaction.atomic() on line ${region.site.line}`;
}
