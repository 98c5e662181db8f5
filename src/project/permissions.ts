/**
 * DRF permission classes linked to the code they guard: the authorization checks each routed
 * view's permission classes make (`has_permission`, `has_object_permission`), keyed by the
 * handler and the write hooks they run before. DRF evaluates them in initial() and
 * get_object(), before the handler, outside any transaction the handler opens.
 */
import type { Endpoint } from "../core/endpoint.js";
import type { CheckEvent, FileFacts, FunctionFacts } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import { functionKey } from "./callGraph.js";
import { findMethod } from "./classes.js";
import type { ModuleIndex } from "./modules.js";
import { type EventLinks, resolveEvents } from "./resolvedEvents.js";

/** Methods DRF runs after check_permissions()/check_object_permissions() on the same request. */
const DRF_WRITE_HOOKS = ["perform_create", "perform_update", "perform_destroy", "create", "update", "partial_update", "destroy"];

/** Checks by the function they run before (`functionKey`), each with the file of its permission class. */
export function permissionChecks(index: ModuleIndex, links: EventLinks, endpoints: readonly Endpoint[]): Map<string, CheckEvent[]> {
  const out = new Map<string, CheckEvent[]>();
  for (const endpoint of endpoints) {
    if (endpoint.permissionClasses.length === 0) continue;
    const checks: CheckEvent[] = [];
    for (const ref of endpoint.permissionClasses) {
      for (const method of ["has_permission", "has_object_permission"]) {
        const found = methodOfClass(index, ref, method);
        if (!found) continue;
        for (const event of resolveEvents(links, found.file, found.fn)) {
          if (event.type === "check" && AUTHZ_CHECK_KINDS.has(event.kind)) checks.push({ ...event, file: found.file.path });
        }
      }
    }
    if (checks.length === 0) continue;
    const targets = endpoint.handlers.map((h) => functionKey(h.file, h.function));
    for (const hook of endpoint.viewClass ? DRF_WRITE_HOOKS : []) {
      const found = methodOfClass(index, endpoint.viewClass!, hook);
      if (found) targets.push(functionKey(found.file, found.fn));
    }
    for (const key of targets) {
      const list = out.get(key) ?? [];
      for (const check of checks) if (!list.some((c) => c.file === check.file && c.pos === check.pos)) list.push(check);
      out.set(key, list);
    }
  }
  return out;
}

/**
 * A method, its own or inherited, of a class the tree defines, named by file and class (an
 * endpoint's view class or one of its permission classes): `has_object_permission`, `perform_update`.
 */
export function methodOfClass(index: ModuleIndex, ref: { file: string; name: string }, method: string): { file: FileFacts; fn: FunctionFacts } | null {
  const file = index.fileAt(ref.file);
  const cls = file ? index.classNamed(file, ref.name) : null;
  return file && cls ? findMethod(index, file, cls, method) : null;
}
