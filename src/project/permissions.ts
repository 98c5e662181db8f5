/**
 * DRF permission classes linked to the code they guard: the authorization checks each routed
 * view's permission classes make (`has_permission`, `has_object_permission`), keyed by the
 * handler and the write hooks they run before. DRF evaluates them in initial() and
 * get_object(), before the handler, outside any transaction the handler opens.
 */
import type { Endpoint, Handler } from "../core/endpoint.js";
import type { CheckEvent, FileFacts, FunctionFacts } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import { functionKey } from "./callGraph.js";
import { authenticationOnly, methodPermissions } from "./actionPermissions.js";
import { ancestorNames, findMethod, isDrfView, resolveClassName } from "./classes.js";
import type { ModuleIndex } from "./modules.js";
import { type EventLinks, resolveEvents } from "./resolvedEvents.js";
import type { ProjectSettings } from "./settings.js";

/** Methods DRF runs after check_permissions()/check_object_permissions() on the same request. */
const DRF_WRITE_HOOKS = ["perform_create", "perform_update", "perform_destroy", "create", "update", "partial_update", "destroy"];

/**
 * Checks by the function they run before (`functionKey`), each with the file of its permission
 * class: a handler gets those of its own action's classes, a write hook those of the actions it
 * serves (`perform_update`: update, partial_update).
 */
export function permissionChecks(index: ModuleIndex, links: EventLinks, endpoints: readonly Endpoint[], settings: ProjectSettings): Map<string, CheckEvent[]> {
  const out = new Map<string, CheckEvent[]>();
  const add = (key: string, checks: CheckEvent[]) => {
    if (checks.length === 0) return;
    const list = out.get(key) ?? [];
    for (const check of checks) if (!list.some((c) => c.file === check.file && c.pos === check.pos)) list.push(check);
    out.set(key, list);
  };
  const hooksDone = new Set<string>();
  for (const endpoint of endpoints) {
    if (endpoint.permissionClasses.length === 0) continue;
    for (const handler of endpoint.handlers) {
      add(functionKey(handler.file, handler.function), classChecks(index, links, handler.permissionClasses ?? endpoint.permissionClasses, runsObjectPermissions(index, handler)));
    }
    const viewFile = endpoint.viewClass ? index.fileAt(endpoint.viewClass.file) : null;
    const cls = viewFile ? index.classNamed(viewFile, endpoint.viewClass!.name) : null;
    if (!viewFile || !cls) continue;
    for (const hook of DRF_WRITE_HOOKS) {
      const found = findMethod(index, viewFile, cls, hook);
      const key = found ? `${functionKey(viewFile.path, cls.name)}|${hook}` : null;
      if (!found || hooksDone.has(key!)) continue;
      hooksDone.add(key!);
      const perms = methodPermissions(index, settings, viewFile, cls, found.fn) ?? [];
      const refs = perms.flatMap((p) => resolvePermissionClasses(index, p.file, p.names));
      // create() saves a new instance: get_object() is not called on its request.
      add(functionKey(found.file, found.fn), classChecks(index, links, refs, hook !== "perform_create" && hook !== "create"));
    }
  }
  return out;
}

/** `self.check_permissions(request)`, `self.check_object_permissions(request, obj)`: DRF's own dispatch to the view's permission classes. */
export function isDrfPermissionDispatch(event: CheckEvent): boolean {
  return event.receiver === "self" && (event.method === "check_permissions" || event.method === "check_object_permissions");
}

/**
 * Methods of DRF views (`functionKey`) that call DRF's own check_permissions() or
 * check_object_permissions() while every permission class of their actions only authenticates
 * (AllowAny, IsAuthenticated): those calls decide nothing a concurrent request could revoke.
 */
export function authenticationOnlyDispatch(files: readonly FileFacts[], index: ModuleIndex, settings: ProjectSettings): Set<string> {
  const out = new Set<string>();
  for (const file of files) {
    for (const fn of file.functions) {
      if (!fn.className || !fn.events.some((e) => e.type === "check" && isDrfPermissionDispatch(e))) continue;
      const cls = index.classNamed(file, fn.className);
      if (!cls || !isDrfView(index, file, cls)) continue;
      // A view (or a scanned base) that redefines the dispatch decides for itself.
      if (findMethod(index, file, cls, "check_permissions") || findMethod(index, file, cls, "check_object_permissions")) continue;
      const perms = methodPermissions(index, settings, file, cls, fn);
      if (perms && perms.length > 0 && perms.every((p) => authenticationOnly(index, p))) out.add(functionKey(file, fn));
    }
  }
  return out;
}

/** DRF's methods that fetch the view's object with get_object(), and so run its object checks. */
const OBJECT_METHODS = new Set(["get_object", "check_object_permissions", "retrieve", "update", "partial_update", "destroy"]);
/** DRF's generic views and mixins whose handlers fetch the object: RetrieveAPIView, UpdateModelMixin, ModelViewSet… */
const OBJECT_HTTP_METHODS = new Set(["get", "put", "patch", "delete"]);
const OBJECT_VIEW = /^((Retrieve|Update|Destroy)\w*(APIView|ModelMixin)|ModelViewSet|ReadOnlyModelViewSet)$/;

/**
 * Whether DRF runs the object checks (`has_object_permission`) on this handler's requests: only
 * get_object() and check_object_permissions() call them. A handler the tree does not define is
 * taken to; one it defines, if it or a method of its class it calls (followed a few levels, or
 * DRF's own by name) does.
 */
function runsObjectPermissions(index: ModuleIndex, handler: Handler): boolean {
  const file = index.fileAt(handler.file);
  const fn = file ? index.functionsNamed(file, handler.function)[0] : undefined;
  const cls = file && fn?.className ? index.classNamed(file, fn.className) : null;
  if (!file || !fn || !cls || OBJECT_METHODS.has(handler.function.split(".").pop()!)) return true;
  // A generic object view's get/put/patch/delete may hand over to super() (retrieve, update,
  // destroy), whose calls leave no event; its create, list and @action methods do not fetch.
  const method = handler.function.split(".").pop()!;
  if (OBJECT_HTTP_METHODS.has(method) && ancestorNames(index, file, cls).some((name) => OBJECT_VIEW.test(name))) return true;
  const seen = new Set<FunctionFacts>();
  const reaches = (current: FunctionFacts, depth: number): boolean => {
    if (seen.has(current)) return false;
    seen.add(current);
    return current.events.some((e) => {
      if (e.type === "fetch") return e.query.source === "self.get_object()";
      if (e.type === "check") return e.method === "check_object_permissions";
      if (e.type !== "call") return false;
      const name = /^(?:self|super\(\))\.(\w+)$/.exec(e.callee)?.[1];
      if (!name) return false;
      const found = e.callee.startsWith("self.") ? findMethod(index, file, cls, name) : null;
      if (!found) return OBJECT_METHODS.has(name);
      return depth < 3 ? reaches(found.fn, depth + 1) : true;
    });
  };
  return reaches(fn, 0);
}

/** The authorization checks `has_permission` (and `has_object_permission` when `objectLevel`) of these classes make. */
function classChecks(index: ModuleIndex, links: EventLinks, refs: readonly { file: string; name: string }[], objectLevel: boolean): CheckEvent[] {
  const checks: CheckEvent[] = [];
  for (const ref of refs) {
    for (const method of objectLevel ? ["has_permission", "has_object_permission"] : ["has_permission"]) {
      const found = methodOfClass(index, ref, method);
      if (!found) continue;
      for (const event of resolveEvents(links, found.file, found.fn)) {
        if (event.type === "check" && AUTHZ_CHECK_KINDS.has(event.kind)) checks.push({ ...event, file: found.file.path });
      }
    }
  }
  return checks;
}

/** Names written in a file (or dotted settings strings) resolved to scanned classes; `IsA | IsB` names both. */
export function resolvePermissionClasses(index: ModuleIndex, file: FileFacts, names: readonly string[]): { file: string; name: string }[] {
  const out: { file: string; name: string }[] = [];
  for (const name of names) {
    for (const part of name.split(/[|&]/).map((p) => p.replace(/[()\s~]/g, "")).filter(Boolean)) {
      const symbol = resolveClassName(index, file, part);
      if (symbol.kind === "class" && !out.some((r) => r.file === symbol.file.path && r.name === symbol.cls.name)) out.push({ file: symbol.file.path, name: symbol.cls.name });
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
