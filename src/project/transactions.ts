/**
 * Transactions the code does not open itself: `ATOMIC_REQUESTS` wraps every view (unless it is
 * marked `non_atomic_requests`), and a helper runs inside whatever transaction its caller holds.
 */
import type { FunctionFacts, Region } from "../extract/facts.js";
import type { CallSite } from "./callGraph.js";
import type { ProjectSettings } from "./settings.js";

/** A view that `ATOMIC_REQUESTS` wraps in a transaction (not opted out with `non_atomic_requests`). */
export function atomicByRequest(settings: ProjectSettings, fn: FunctionFacts): boolean {
  return settings.atomicRequests && fn.viewLike && !fn.nonAtomicRequests;
}

/** The implicit transaction `ATOMIC_REQUESTS` opens around a view, as a region of its body; null when there is none. */
export function requestTransaction(settings: ProjectSettings, fn: FunctionFacts): Region | null {
  return atomicByRequest(settings, fn) ? { kind: "atomic", span: fn.span, site: { ...fn.site, text: "ATOMIC_REQUESTS = True (settings)" } } : null;
}

/** The call runs inside a transaction its caller holds: an atomic block, or `ATOMIC_REQUESTS` around a view. */
export function callInTransaction(settings: ProjectSettings, call: CallSite): boolean {
  return inAtomicRegion(call) || atomicByRequest(settings, call.caller);
}

/** The call stands in one of its caller's own atomic blocks. */
export function inAtomicRegion(call: CallSite): boolean {
  return call.caller.regions.some((r) => r.kind === "atomic" && call.event.pos >= r.span[0] && call.event.pos < r.span[1]);
}
