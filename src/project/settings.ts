/**
 * The settings model: which modules are settings, and what each one ends up defining once
 * `from .base import *` and `+=`/`.append()`/`.insert()` are applied, read statically.
 */
import type { FileFacts } from "../extract/facts.js";
import type { ModuleIndex } from "./modules.js";

export interface SettingsModule {
  module: string;
  path: string;
  engines: string[] | null;
  atomicRequests: boolean;
  middleware: string[] | null;
  authenticationBackends: string[] | null;
  /** REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]; null when not set (DRF's defaults apply). */
  drfAuthentication: string[] | null;
  drfPermissions: string[] | null;
  rootUrlconf: string | null;
}

export interface ProjectSettings {
  /** Settings modules read, by module name; their values are combined as a union. */
  modules: SettingsModule[];
  atomicRequests: boolean;
  /** Every database engine found is SQLite (select_for_update is a no-op there). */
  sqliteOnly: boolean;
  /** Settings files read, relative paths. */
  files: string[];
}

const MAX_STAR_DEPTH = 10;

export function readSettings(files: readonly FileFacts[], index: ModuleIndex): ProjectSettings {
  const declared = new Set(files.map((f) => f.settingsModule).filter((m): m is string => m !== null));
  const candidates = files.filter((f) => f.settings !== null || f.settingAssignments.length > 0);
  // Modules named by DJANGO_SETTINGS_MODULE win; otherwise every module that looks like settings.
  let chosen = [...declared].map((m) => index.find(m)).filter((f): f is FileFacts => f !== null);
  if (chosen.length === 0) chosen = candidates.filter((f) => /(^|\/)settings(\/|\.py$)|settings[^/]*\.py$/.test(f.path));
  if (chosen.length === 0) chosen = candidates.filter((f) => f.settings !== null);
  // A base module star-imported by another chosen module is read through it, not alone.
  const imported = new Set<string>();
  for (const file of chosen) for (const star of file.starImports) {
    const base = index.find(index.absolute(file, star));
    if (base) imported.add(base.path);
  }
  const leaves = chosen.filter((f) => !imported.has(f.path) || chosen.every((c) => c.path === f.path));
  const modules = (leaves.length > 0 ? leaves : chosen).map((f) => evaluate(f, index)).sort((a, b) => (a.module < b.module ? -1 : 1));
  const engines = modules.some((m) => m.engines === null) ? null : modules.flatMap((m) => m.engines ?? []);
  return {
    modules,
    atomicRequests: modules.some((m) => m.atomicRequests),
    sqliteOnly: engines !== null && engines.length > 0 && engines.every((e) => /sqlite/.test(e)),
    files: [...new Set(modules.flatMap((m) => settingsChain(index.find(m.module) ?? null, index).map((f) => f.path)))].sort(),
  };
}

function settingsChain(file: FileFacts | null, index: ModuleIndex): FileFacts[] {
  const out: FileFacts[] = [];
  const stack = file ? [file] : [];
  while (stack.length > 0 && out.length < MAX_STAR_DEPTH) {
    const current = stack.pop()!;
    if (out.includes(current)) continue;
    out.push(current);
    for (const star of current.starImports) {
      const base = index.find(index.absolute(current, star));
      if (base) stack.push(base);
    }
  }
  return out;
}

/** Applies a module's star imports (recursively) and then its own assignments in order. */
function evaluate(file: FileFacts, index: ModuleIndex): SettingsModule {
  const chain = settingsChain(file, index).reverse();
  const result: SettingsModule = {
    module: index.nameOf(file), path: file.path, engines: [], atomicRequests: false, middleware: null,
    authenticationBackends: null, drfAuthentication: null, drfPermissions: null, rootUrlconf: null,
  };
  let databasesSet = false;
  for (const current of chain) {
    if (current.settings) {
      result.engines = current.settings.engines;
      result.atomicRequests = current.settings.atomicRequests;
      databasesSet = true;
    }
    for (const a of current.settingAssignments) {
      if (a.name === "MIDDLEWARE" || a.name === "MIDDLEWARE_CLASSES") result.middleware = apply(result.middleware, a.op, a.values);
      else if (a.name === "AUTHENTICATION_BACKENDS") result.authenticationBackends = apply(result.authenticationBackends, a.op, a.values);
      else if (a.name === "ROOT_URLCONF") result.rootUrlconf = a.values?.[0] ?? null;
      else if (a.name === "REST_FRAMEWORK" && a.dict) {
        if ("DEFAULT_AUTHENTICATION_CLASSES" in a.dict) result.drfAuthentication = a.dict.DEFAULT_AUTHENTICATION_CLASSES ?? null;
        if ("DEFAULT_PERMISSION_CLASSES" in a.dict) result.drfPermissions = a.dict.DEFAULT_PERMISSION_CLASSES ?? null;
      }
    }
  }
  if (!databasesSet) result.engines = null;
  return result;
}

function apply(current: string[] | null, op: "set" | "extend" | "prepend" | "remove", values: string[] | null): string[] | null {
  if (values === null) return op === "remove" ? current : current ?? [];
  switch (op) {
    case "set":
      return [...values];
    case "extend":
      return [...(current ?? []), ...values];
    case "prepend":
      return [...values, ...(current ?? [])];
    case "remove":
      return (current ?? []).filter((v) => !values.includes(v));
  }
}
