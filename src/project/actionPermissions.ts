/**
 * The permission classes DRF runs for one action of a view: `@action(permission_classes=…)`
 * replaces the view's `permission_classes` for that action, and a `get_permissions()` that
 * picks classes by `self.action` (facts read by extract/actionPermissionFacts.ts) narrows them
 * further. When the code does not say it statically, the class-level classes stand.
 */
import type { ClassFacts, FileFacts, FunctionFacts, GetPermissionsFacts, PermissionOutcome } from "../extract/facts.js";
import { ancestorNames, ancestors, classAttr, findMethod, resolveClassName } from "./classes.js";
import type { ModuleIndex } from "./modules.js";
import type { ProjectSettings } from "./settings.js";

export interface ActionPermissions {
  /** Permission classes as written (`IsOwner`, `permissions.IsAdminUser`, `IsA | IsB`, a dotted settings string). */
  names: string[];
  /** The file the names are written in, to resolve them. */
  file: FileFacts;
  /**
   * The names are what DRF runs for this action as far as the code says: false when
   * get_permissions() could not be read for it, or when no class and no settings module name
   * any (a scan without the project's settings).
   */
  known: boolean;
}

/** DRF's permission classes that authenticate without authorizing anything. */
const AUTHENTICATION_ONLY = new Set(["AllowAny", "IsAuthenticated", "IsAuthenticatedOrReadOnly"]);

/** Viewset actions DRF's generic hooks run in (a hook outside a viewset runs in the view's one set). */
const HOOK_ACTIONS: Record<string, string[]> = {
  perform_create: ["create"], create: ["create"],
  perform_update: ["update", "partial_update"], update: ["update", "partial_update"], partial_update: ["partial_update"],
  perform_destroy: ["destroy"], destroy: ["destroy"],
  list: ["list"], retrieve: ["retrieve"],
};

export function isViewSet(index: ModuleIndex, file: FileFacts, cls: ClassFacts): boolean {
  return ancestorNames(index, file, cls).some((n) => /ViewSet(Mixin)?$/.test(n));
}

/** The view's `permission_classes` (own or inherited), else the settings' DEFAULT_PERMISSION_CLASSES, else DRF's AllowAny. */
export function classLevelPermissions(index: ModuleIndex, settings: ProjectSettings, file: FileFacts, cls: ClassFacts): ActionPermissions {
  const attr = classAttr(index, file, cls, "permission_classes");
  if (attr) return { names: attr.values, file: attr.file, known: true };
  const configured = [...new Set(settings.modules.flatMap((m) => m.drfPermissions ?? []))];
  if (configured.length > 0) return { names: configured, file, known: true };
  return { names: ["rest_framework.permissions.AllowAny"], file, known: settings.modules.length > 0 };
}

/**
 * The permission classes of `action` (a viewset action: `create`, an @action method's name) of
 * a DRF view class; `action` null for a view that is not a viewset (it has no `self.action`).
 */
export function actionPermissions(index: ModuleIndex, settings: ProjectSettings, file: FileFacts, cls: ClassFacts, action: string | null): ActionPermissions {
  let base = classLevelPermissions(index, settings, file, cls);
  if (action !== null) {
    const method = findMethod(index, file, cls, action);
    const override = method ? decoratorPermissions(method.fn) : null;
    if (override && method) base = { names: override, file: method.file, known: true };
  }
  const defined = getPermissionsOf(index, file, cls);
  if (!defined) return base;
  const outcome = ruleFor(defined.facts, action);
  if (outcome === null) return { ...base, known: false };
  return outcomeFor(outcome, base, defined.file, action, (attr) => dictOf(index, file, cls, attr)) ?? { ...base, known: false };
}

/**
 * The permission classes that run before a method of a DRF view class (the method its own or
 * inherited): those of its action (a handler or @action), of the actions a generic hook serves
 * (`perform_update`: update, partial_update); null for any other method of a viewset.
 */
export function methodPermissions(index: ModuleIndex, settings: ProjectSettings, file: FileFacts, cls: ClassFacts, method: FunctionFacts): ActionPermissions[] | null {
  if (!isViewSet(index, file, cls)) return [actionPermissions(index, settings, file, cls, null)];
  const short = method.name.split(".").pop()!;
  const isAction = method.decorators.some((d) => /(^|\.)action\b/.test(d));
  const actions = isAction ? [short] : HOOK_ACTIONS[short];
  return actions ? actions.map((a) => actionPermissions(index, settings, file, cls, a)) : null;
}

/**
 * Every permission class of `perms` is authentication-only (AllowAny, IsAuthenticated,
 * IsAuthenticatedOrReadOnly, not redefined in the scanned tree), or there are none: they make
 * no authorization decision. False when the classes are not known.
 */
export function authenticationOnly(index: ModuleIndex, perms: ActionPermissions): boolean {
  if (!perms.known) return false;
  return perms.names.every((name) =>
    name.split(/[|&]/).map((p) => p.replace(/[()\s~]/g, "")).filter(Boolean).every((part) =>
      AUTHENTICATION_ONLY.has(part.split(".").pop()!) && resolveClassName(index, perms.file, part).kind !== "class"));
}

/** The nearest get_permissions() of the class or its scanned bases, with the file that defines it. */
function getPermissionsOf(index: ModuleIndex, file: FileFacts, cls: ClassFacts): { facts: GetPermissionsFacts; file: FileFacts } | null {
  for (const a of ancestors(index, file, cls)) {
    if ("external" in a) continue;
    if (a.cls.getPermissions) return { facts: a.cls.getPermissions, file: a.file };
  }
  return null;
}

/** The outcome of the first rule that applies to `action`; null when it cannot be told. */
function ruleFor(facts: GetPermissionsFacts, action: string | null): PermissionOutcome | null {
  if (facts.opaque) return null;
  for (const rule of facts.rules) {
    const test = rule.test;
    if (test === null) return rule.outcome;
    // A view that is not a viewset has no `self.action`; a rule that tests it cannot be placed.
    if (action === null) return null;
    if (test.uncertain) {
      if (test.actions.length === 0 || test.actions.includes(action)) return null;
      continue;
    }
    if (test.actions.includes(action) !== test.negated) return rule.outcome;
  }
  return null;
}

function outcomeFor(
  outcome: PermissionOutcome, base: ActionPermissions, definedIn: FileFacts, action: string | null,
  dictNamed: (attr: string) => { values: Record<string, string[]>; file: FileFacts } | null,
): ActionPermissions | null {
  switch (outcome.kind) {
    case "classes":
      return { names: outcome.names, file: definedIn, known: true };
    case "class":
      return base;
    case "by-action": {
      const dict = dictNamed(outcome.attr);
      if (!dict) return null;
      if (action !== null && Object.hasOwn(dict.values, action)) return { names: dict.values[action]!, file: dict.file, known: true };
      if (!outcome.fallback) return null;
      return outcome.fallback.kind === "class" ? base : { names: outcome.fallback.names, file: definedIn, known: true };
    }
    case "unknown":
      return null;
  }
}

/** A class dict of permission lists by action, looked up on the view class and its scanned bases. */
function dictOf(index: ModuleIndex, file: FileFacts, cls: ClassFacts, attr: string): { values: Record<string, string[]>; file: FileFacts } | null {
  for (const a of ancestors(index, file, cls)) {
    if ("external" in a) continue;
    if (a.cls.attrs[attr]) return null; // bound to something other than a literal dict
    const values = a.cls.permissionDicts?.[attr];
    if (values) return { values, file: a.file };
  }
  return null;
}

/** `@action(…, permission_classes=[IsAuthenticated])`: the classes named, as written. */
function decoratorPermissions(fn: FunctionFacts): string[] | null {
  for (const decorator of fn.decorators) {
    if (!/(^|\.)action\(/.test(decorator)) continue;
    const list = /\bpermission_classes\s*=\s*[[(]([^\])]*)[\])]/.exec(decorator)?.[1];
    if (list === undefined) return null;
    return list.split(",").map((s) => s.trim()).filter(Boolean);
  }
  return null;
}
