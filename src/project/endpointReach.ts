/**
 * Which endpoints run a function: its own routes (a view, a handler method), those of its class
 * (perform_update, helpers of a routed view), or those of its callers, a few levels up.
 */
import type { Endpoint } from "../core/endpoint.js";
import type { FileFacts, FunctionFacts } from "../extract/facts.js";
import { type CallGraph, functionKey } from "./callGraph.js";
import type { ModuleIndex } from "./modules.js";
import { methodOfClass } from "./permissions.js";

/** How many levels of callers are followed to find a route. */
const MAX_CALLER_DEPTH = 4;

export class EndpointReach {
  private readonly byHandler = new Map<string, Endpoint[]>();
  private readonly byClass = new Map<string, Endpoint[]>();

  constructor(endpoints: readonly Endpoint[], private readonly calls: CallGraph, index: ModuleIndex) {
    const add = (map: Map<string, Endpoint[]>, key: string, endpoint: Endpoint) => {
      const list = map.get(key) ?? [];
      if (!list.includes(endpoint)) list.push(endpoint);
      map.set(key, list);
    };
    for (const endpoint of endpoints) {
      for (const handler of endpoint.handlers) add(this.byHandler, functionKey(handler.file, handler.function), endpoint);
      // A permission class's checks run in the requests of every endpoint that names it.
      for (const ref of endpoint.permissionClasses) {
        for (const method of ["has_permission", "has_object_permission"]) {
          const found = methodOfClass(index, ref, method);
          if (found) add(this.byHandler, functionKey(found.file, found.fn), endpoint);
        }
      }
      if (endpoint.viewClass) add(this.byClass, functionKey(endpoint.viewClass.file, endpoint.viewClass.name), endpoint);
    }
  }

  /** The endpoints that run `fn`, sorted by route; empty when no route reaches it. */
  endpointsOf(file: FileFacts, fn: FunctionFacts): Endpoint[] {
    const seen = new Set<string>();
    let frontier = [{ file, fn }];
    for (let depth = 0; depth < MAX_CALLER_DEPTH && frontier.length > 0; depth++) {
      const found = [...new Set(frontier.flatMap((f) => this.direct(f.file, f.fn)))];
      if (found.length > 0) return found.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
      const next: { file: FileFacts; fn: FunctionFacts }[] = [];
      for (const f of frontier) {
        const key = functionKey(f.file, f.fn);
        if (seen.has(key)) continue;
        seen.add(key);
        for (const site of this.calls.callersOf(f.file, f.fn)) next.push({ file: site.file, fn: site.caller });
      }
      frontier = next;
    }
    return [];
  }

  /** The endpoints routed to a view class, in route order. */
  ofViewClass(file: string, className: string): readonly Endpoint[] {
    return this.byClass.get(functionKey(file, className)) ?? [];
  }

  /** A handler's own routes; otherwise every route of its class (perform_update, helpers). */
  private direct(file: FileFacts, fn: FunctionFacts): Endpoint[] {
    return this.byHandler.get(functionKey(file, fn)) ?? (fn.className ? this.byClass.get(functionKey(file, fn.className)) ?? [] : []);
  }
}
