/**
 * URL routes to view handlers, with each endpoint's authentication and permission classes
 * (Basic Auth reach is decided in basicAuthReach.ts). Follows ROOT_URLCONF, include(), DRF
 * routers and @action, as far as the code says it statically.
 */
import type { Endpoint, Handler } from "../core/endpoint.js";
import type { ClassFacts, FileFacts, FunctionFacts, UrlEntry } from "../extract/facts.js";
import { type ActionPermissions, actionPermissions, isViewSet } from "./actionPermissions.js";
import { type AuthClass, type BasicAuthOptions, decideBasicAuth } from "./basicAuthReach.js";
import { ancestorNames, ancestors, classAttr, findMethod, isDrfView } from "./classes.js";
import type { ModuleIndex } from "./modules.js";
import { resolvePermissionClasses } from "./permissions.js";
import type { ProjectSettings } from "./settings.js";

const HTTP_METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
const VIEWSET_LIST: Record<string, string> = { list: "GET", create: "POST" };
const VIEWSET_DETAIL: Record<string, string> = { retrieve: "GET", update: "PUT", partial_update: "PATCH", destroy: "DELETE" };
const MODEL_VIEWSET_ACTIONS: Record<string, string[]> = {
  ModelViewSet: ["list", "create", "retrieve", "update", "partial_update", "destroy"],
  ReadOnlyModelViewSet: ["list", "retrieve"],
  ListModelMixin: ["list"], CreateModelMixin: ["create"], RetrieveModelMixin: ["retrieve"],
  UpdateModelMixin: ["update", "partial_update"], DestroyModelMixin: ["destroy"],
};
/** DRF's own default when REST_FRAMEWORK does not set DEFAULT_AUTHENTICATION_CLASSES. */
const DRF_DEFAULT_AUTHENTICATION = ["rest_framework.authentication.SessionAuthentication", "rest_framework.authentication.BasicAuthentication"];
const MAX_INCLUDE_DEPTH = 20;

export function buildRoutes(files: readonly FileFacts[], index: ModuleIndex, settings: ProjectSettings, options: BasicAuthOptions = {}): Endpoint[] {
  const roots = rootUrlconfs(files, index, settings);
  const endpoints: Endpoint[] = [];
  const stack: { file: FileFacts; prefix: string; entries: UrlEntry[]; depth: number }[] = roots
    .map((file) => ({ file, prefix: "/", entries: file.urlpatterns ?? [], depth: 0 }))
    .reverse();
  const expanded = new Set<string>();
  while (stack.length > 0) {
    const { file, prefix, entries, depth } = stack.pop()!;
    for (const entry of entries) {
      const route = joinRoute(prefix, entry.route, entry.regex);
      const view = entry.view;
      if (view.kind === "include" && depth < MAX_INCLUDE_DEPTH) {
        const target = index.find(index.absolute(file, view.module));
        const key = `${target?.path}|${route}`;
        if (target && !expanded.has(key)) {
          expanded.add(key);
          stack.push({ file: target, prefix: route, entries: target.urlpatterns ?? [], depth: depth + 1 });
        }
      } else if (view.kind === "inline") {
        stack.push({ file, prefix: route, entries: view.patterns, depth: depth + 1 });
      } else if (view.kind === "router") {
        for (const registration of file.routers.filter((r) => r.router === view.router)) {
          const symbol = index.resolve(file, registration.viewset);
          if (symbol.kind !== "class") continue;
          endpoints.push(...viewSetEndpoints(index, symbol.file, symbol.cls, joinRoute(route, registration.prefix, false), file, registration.line, settings, options));
        }
      } else if (view.kind === "callable" || view.kind === "class") {
        const symbol = index.resolve(file, view.target);
        if (symbol.kind === "function") {
          endpoints.push(functionEndpoint(index, symbol.file, symbol.fn, route, file, entry.line, settings, options));
        } else if (symbol.kind === "class") {
          const actions = view.kind === "class" ? view.actions : undefined;
          endpoints.push(classEndpoint(index, symbol.file, symbol.cls, route, file, entry.line, settings, options, actions));
        }
      }
    }
  }
  return endpoints.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : a.view < b.view ? -1 : a.view > b.view ? 1 : 0));
}

/** ROOT_URLCONF when the settings name one; otherwise url modules nobody includes. */
function rootUrlconfs(files: readonly FileFacts[], index: ModuleIndex, settings: ProjectSettings): FileFacts[] {
  const named = settings.modules.map((m) => m.rootUrlconf).filter((r): r is string => r !== null);
  const roots = [...new Set(named)].map((r) => index.find(r)).filter((f): f is FileFacts => f !== null && f.urlpatterns !== null);
  if (roots.length > 0) return roots;
  const withPatterns = files.filter((f) => f.urlpatterns !== null);
  const included = new Set<string>();
  for (const file of withPatterns) {
    const stack = [...(file.urlpatterns ?? [])];
    while (stack.length > 0) {
      const entry = stack.pop()!;
      if (entry.view.kind === "include") {
        const target = index.find(index.absolute(file, entry.view.module));
        if (target) included.add(target.path);
      } else if (entry.view.kind === "inline") stack.push(...entry.view.patterns);
    }
  }
  return withPatterns.filter((f) => !included.has(f.path));
}

function joinRoute(prefix: string, route: string, regex: boolean): string {
  let part = route;
  if (regex) {
    part = part.replace(/^\^/, "").replace(/\$$/, "").replace(/\(\?P<(\w+)>[^)]*\)/g, "<$1>");
  }
  const joined = `${prefix.endsWith("/") ? prefix : `${prefix}/`}${part.replace(/^\//, "")}`;
  return joined.replace(/\/{2,}/g, "/");
}

function functionEndpoint(index: ModuleIndex, file: FileFacts, fn: FunctionFacts, route: string, urlFile: FileFacts, line: number, settings: ProjectSettings, options: BasicAuthOptions): Endpoint {
  const apiView = fn.decorators.find((d) => /(^|\.)api_view\b/.test(d));
  const methods = apiView ? quotedUpper(apiView) : requireMethods(fn);
  const drf = apiView !== undefined;
  const authDecorator = fn.decorators.find((d) => /(^|\.)authentication_classes\(/.test(d));
  const permDecorator = fn.decorators.find((d) => /(^|\.)permission_classes\(/.test(d));
  const authentication = drf
    ? authDecorator ? listInDecorator(authDecorator) : settingsAuthentication(settings)
    : [];
  const permissions = drf ? (permDecorator ? listInDecorator(permDecorator).map((p) => p.name) : settingsPermissions(settings)) : permissionDecorators(fn);
  const endpoint: Endpoint = {
    route, methods: methods.length > 0 ? methods : ["ANY"], view: `${index.nameOf(file)}.${fn.name}`, urlFile: urlFile.path, urlLine: line,
    handlers: [{ file: file.path, function: fn.name, methods: methods.length > 0 ? methods : ["ANY"] }], viewClass: null, drf,
    authentication: authentication.map((a) => a.name), permissions, basicAuth: false, basicAuthReasons: [],
    permissionClasses: drf ? resolvePermissionClasses(index, file, permissions) : [],
  };
  decideBasicAuth(endpoint, index, file, authentication, settings, options, { decorators: fn.decorators, decodes: fn.decodesBasicAuth });
  return endpoint;
}

function classEndpoint(
  index: ModuleIndex, file: FileFacts, cls: ClassFacts, route: string, urlFile: FileFacts, line: number, settings: ProjectSettings,
  options: BasicAuthOptions, actions?: Record<string, string>,
): Endpoint {
  const handlers: Handler[] = [];
  if (actions) {
    for (const [method, action] of Object.entries(actions)) addHandler(handlers, index, file, cls, action, [method.toUpperCase()]);
  } else {
    for (const method of HTTP_METHODS) addHandler(handlers, index, file, cls, method, [method.toUpperCase()]);
  }
  return finishClassEndpoint(index, file, cls, route, urlFile, line, settings, options, handlers);
}

function viewSetEndpoints(
  index: ModuleIndex, file: FileFacts, cls: ClassFacts, route: string, urlFile: FileFacts, line: number, settings: ProjectSettings, options: BasicAuthOptions,
): Endpoint[] {
  const inherited = new Set(ancestorNames(index, file, cls).flatMap((n) => MODEL_VIEWSET_ACTIONS[n] ?? []));
  const list: Handler[] = [];
  const detail: Handler[] = [];
  for (const [action, method] of Object.entries(VIEWSET_LIST)) {
    if (!addHandler(list, index, file, cls, action, [method]) && inherited.has(action)) list.push({ file: file.path, function: `${cls.name}.${action}`, methods: [method] });
  }
  for (const [action, method] of Object.entries(VIEWSET_DETAIL)) {
    if (!addHandler(detail, index, file, cls, action, [method]) && inherited.has(action)) detail.push({ file: file.path, function: `${cls.name}.${action}`, methods: [method] });
  }
  const out: Endpoint[] = [];
  const base = route.endsWith("/") ? route : `${route}/`;
  if (list.length > 0) out.push(finishClassEndpoint(index, file, cls, base, urlFile, line, settings, options, list));
  if (detail.length > 0) out.push(finishClassEndpoint(index, file, cls, `${base}<pk>/`, urlFile, line, settings, options, detail));
  // @action(detail=…, methods=[…], url_path=…) methods of the class and its scanned bases.
  for (const a of ancestors(index, file, cls)) {
    if ("external" in a) continue;
    for (const fn of index.methodsOf(a.file, a.cls.name)) {
      const decorator = fn.decorators.find((d) => /(^|\.)action\b/.test(d));
      if (!decorator) continue;
      const short = fn.name.split(".").pop()!;
      const path = /url_path\s*=\s*["']([^"']+)["']/.exec(decorator)?.[1] ?? short;
      const isDetail = /detail\s*=\s*True/.test(decorator);
      const methods = /methods\s*=/.test(decorator) ? quotedUpper(decorator.slice(decorator.indexOf("methods"))) : ["GET"];
      const actionRoute = `${base}${isDetail ? "<pk>/" : ""}${path.replace(/^\//, "")}/`.replace(/\/{2,}/g, "/");
      out.push(finishClassEndpoint(index, file, cls, actionRoute, urlFile, line, settings, options, [{ file: a.file.path, function: fn.name, methods }]));
    }
  }
  return out;
}

function addHandler(handlers: Handler[], index: ModuleIndex, file: FileFacts, cls: ClassFacts, method: string, methods: string[]): boolean {
  const found = findMethod(index, file, cls, method);
  if (!found) return false;
  handlers.push({ file: found.file.path, function: found.fn.name, methods });
  return true;
}

function finishClassEndpoint(
  index: ModuleIndex, file: FileFacts, cls: ClassFacts, route: string, urlFile: FileFacts, line: number, settings: ProjectSettings,
  options: BasicAuthOptions, handlers: Handler[],
): Endpoint {
  const drf = isDrfView(index, file, cls);
  const authAttr = classAttr(index, file, cls, "authentication_classes");
  const authentication = drf ? (authAttr ? authAttr.values.map((name) => ({ name, file: authAttr.file, source: `authentication_classes on ${cls.name}` })) : settingsAuthentication(settings)) : [];
  let permissions = ancestorNames(index, file, cls).filter((n) => /PermissionRequiredMixin|UserPassesTestMixin|LoginRequiredMixin/.test(n));
  const permissionClasses: { file: string; name: string }[] = [];
  if (drf) {
    // Each handler runs the classes of its own action; the endpoint lists them all.
    // A view whose handlers are all inherited from DRF's generics still runs its classes.
    const viewSet = isViewSet(index, file, cls);
    permissions = [];
    const record = (perms: ActionPermissions) => {
      const refs = resolvePermissionClasses(index, perms.file, perms.names);
      for (const name of perms.names) if (!permissions.includes(name)) permissions.push(name);
      for (const ref of refs) if (!permissionClasses.some((r) => r.file === ref.file && r.name === ref.name)) permissionClasses.push(ref);
      return refs;
    };
    if (!viewSet || handlers.length === 0) record(actionPermissions(index, settings, file, cls, null));
    for (const handler of handlers) {
      const perms = actionPermissions(index, settings, file, cls, viewSet ? handler.function.split(".").pop()! : null);
      handler.permissions = perms.names;
      handler.permissionClasses = record(perms);
    }
  }
  const methods = [...new Set(handlers.flatMap((h) => h.methods))].sort();
  const endpoint: Endpoint = {
    route, methods: methods.length > 0 ? methods : ["ANY"], view: `${index.nameOf(file)}.${cls.name}`, urlFile: urlFile.path, urlLine: line,
    handlers, viewClass: { file: file.path, name: cls.name }, drf,
    authentication: authentication.map((a) => a.name), permissions, basicAuth: false, basicAuthReasons: [],
    permissionClasses,
  };
  decideBasicAuth(endpoint, index, file, authentication, settings, options, { decorators: [], decodes: cls.decodesBasicAuth });
  return endpoint;
}

function settingsAuthentication(settings: ProjectSettings): AuthClass[] {
  const configured = settings.modules.filter((m) => m.drfAuthentication !== null);
  if (configured.length === 0) {
    return DRF_DEFAULT_AUTHENTICATION.map((name) => ({ name, file: null, source: "DRF's default DEFAULT_AUTHENTICATION_CLASSES (not set in settings)" }));
  }
  return configured.flatMap((m) => (m.drfAuthentication ?? []).map((name) => ({ name, file: null, source: `REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] in ${m.path}` })));
}

function settingsPermissions(settings: ProjectSettings): string[] {
  const configured = settings.modules.flatMap((m) => m.drfPermissions ?? []);
  return configured.length > 0 ? [...new Set(configured)] : ["rest_framework.permissions.AllowAny"];
}

function quotedUpper(text: string): string[] {
  const list = /\[([^\]]*)\]|\(([^)]*)\)/.exec(text);
  const inner = list ? list[1] ?? list[2] ?? "" : "";
  return [...inner.matchAll(/["'](\w+)["']/g)].map((m) => m[1]!.toUpperCase()).sort();
}

function listInDecorator(decorator: string): AuthClass[] {
  const inner = /\(\s*[[(]?([^\])]*)/.exec(decorator)?.[1] ?? "";
  return inner.split(",").map((s) => s.trim()).filter(Boolean).map((name) => ({ name, file: null, source: "@authentication_classes" }));
}

function requireMethods(fn: FunctionFacts): string[] {
  for (const d of fn.decorators) {
    if (/(^|\.)require_POST$/.test(d)) return ["POST"];
    if (/(^|\.)require_GET$/.test(d)) return ["GET"];
    if (/(^|\.)require_safe$/.test(d)) return ["GET", "HEAD"];
    if (/(^|\.)require_http_methods\(/.test(d)) return quotedUpper(d);
  }
  return [];
}

function permissionDecorators(fn: FunctionFacts): string[] {
  return fn.decorators.filter((d) => /permission_required|user_passes_test|staff_member_required|login_required/.test(d)).map((d) => `@${d.split("(")[0]}`);
}
