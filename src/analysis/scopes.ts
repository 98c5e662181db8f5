/** Where events stand relative to each other: guard scopes, transaction regions, locks taken before a point. */
import type { CheckEvent, FetchEvent, FunctionFacts, Region, SourceSite, Span, WriteEvent } from "../extract/facts.js";
import type { UseKind } from "../core/finding.js";
import type { ModelCore } from "./model.js";

export function inScopes(scopes: Span[], pos: number): boolean {
  return scopes.some(([start, end]) => pos >= start && pos < end);
}

/** Where a check takes effect: decorators act just before the first statement of the body. */
export function checkPosition(check: CheckEvent): number {
  return check.guard === "decorator" ? (check.scopes[0]?.[0] ?? check.pos + 1) - 1 : check.pos;
}

export function atomicContaining(model: ModelCore, ...positions: number[]): Region | null {
  const candidates = model.atomic.filter((r) => positions.every((p) => p >= r.span[0] && p < r.span[1]));
  // The innermost block: savepoints nested in an outer transaction still share its locks.
  candidates.sort((a, b) => (b.span[0] - a.span[0]) || (a.span[1] - b.span[1]));
  return candidates[candidates.length - 1] ?? null;
}

/** Locked, evaluated fetches inside `region` before `before`. */
export function locksIn(model: ModelCore, region: Region, before: number): FetchEvent[] {
  return model.events.filter(
    (e): e is FetchEvent => e.type === "fetch" && e.query.locked && e.pos >= region.span[0] && e.pos < before,
  );
}

export function useKindOf(write: WriteEvent): UseKind {
  switch (write.op) {
    case "delete":
      return "delete";
    case "create":
    case "get_or_create":
    case "bulk":
      return "create";
    case "enqueue":
      return "enqueue";
    default:
      return "write";
  }
}

/** Where a decorator of the function is written, as a site of its own. */
export function decoratorSite(fn: FunctionFacts, decorator: string): SourceSite {
  const line = fn.decoratorLines[fn.decorators.indexOf(decorator)] ?? fn.site.line;
  return { line, column: 1, endLine: line, text: `@${decorator}` };
}

export function defName(model: ModelCore, id: number | null | undefined): string {
  if (id === null || id === undefined) return "the object";
  return model.defs[id]?.name ?? "the object";
}
