/**
 * Which endpoints HTTP Basic Auth reaches, and why: authentication classes (DRF's defaults,
 * settings, the view's own), Basic Auth decorators, views that decode the header themselves,
 * and middleware that decodes it for every view.
 */
import type { Endpoint } from "../core/endpoint.js";
import type { FileFacts, FunctionFacts } from "../extract/facts.js";
import { ancestorNames, resolveClassName } from "./classes.js";
import type { ModuleIndex } from "./modules.js";
import type { ProjectSettings } from "./settings.js";

export interface BasicAuthOptions {
  /** Extra class or middleware names that authenticate with HTTP Basic (from configuration). */
  basicAuthNames?: readonly string[];
}

/** An authentication class named for a view. */
export interface AuthClass {
  name: string;
  /** The file whose imports resolve the name (the view's, or none for settings strings). */
  file: FileFacts | null;
  source: string;
}

const KNOWN_BASIC_DECORATOR = /(^|\.)(basic_?auth\w*|\w*basic_?auth(_required)?|logged_in_or_basicauth|http_basic_auth\w*)$/i;

/** Decides Basic Auth reachability and records every reason, most specific first. */
export function decideBasicAuth(
  endpoint: Endpoint, index: ModuleIndex, viewFile: FileFacts, authentication: AuthClass[], settings: ProjectSettings, options: BasicAuthOptions,
  view: { decorators: string[]; decodes: boolean },
): void {
  const extra = new Set(options.basicAuthNames ?? []);
  for (const auth of authentication) {
    const why = basicAuthClass(index, auth.file ?? viewFile, auth.name, extra);
    if (why) endpoint.basicAuthReasons.push(`${auth.source} includes ${auth.name}${why === "name" ? "" : ` (${why})`}`);
  }
  for (const decorator of view.decorators) {
    const name = decorator.split("(")[0]!;
    if (KNOWN_BASIC_DECORATOR.test(name) || extra.has(name)) endpoint.basicAuthReasons.push(`decorator @${name} authenticates with HTTP Basic credentials`);
  }
  if (view.decodes) endpoint.basicAuthReasons.push("the view decodes the Authorization: Basic header itself");
  for (const module of settings.modules) {
    for (const middleware of module.middleware ?? []) {
      const symbol = index.resolveQualified(middleware);
      const decodes = symbol.kind === "class" ? symbol.cls.decodesBasicAuth : symbol.kind === "function" ? symbol.fn.decodesBasicAuth : false;
      if (decodes || extra.has(middleware) || /basic_?auth/i.test(middleware)) {
        endpoint.basicAuthReasons.push(`middleware ${middleware} (${module.path}) ${decodes ? "decodes HTTP_AUTHORIZATION Basic credentials" : "authenticates with HTTP Basic credentials"} for every view`);
      }
    }
  }
  endpoint.basicAuthReasons = [...new Set(endpoint.basicAuthReasons)];
  endpoint.basicAuth = endpoint.basicAuthReasons.length > 0;
}

/**
 * The functions that run while HTTP Basic credentials are checked: every method of an
 * authentication class that decodes the header or extends BasicAuthentication (or is configured
 * as Basic Auth), and functions (middleware, decorators) that decode it, with their nested helpers.
 */
export function basicAuthCode(files: readonly FileFacts[], index: ModuleIndex, options: BasicAuthOptions): ReadonlySet<FunctionFacts> {
  const extra = new Set(options.basicAuthNames ?? []);
  const out = new Set<FunctionFacts>();
  for (const file of files) {
    const decoders = file.functions.filter((fn) => fn.className === null && fn.decodesBasicAuth).map((fn) => fn.name);
    for (const fn of file.functions) {
      const cls = fn.className ? index.classNamed(file, fn.className) : null;
      const viaClass = cls !== null && (cls.decodesBasicAuth || extra.has(cls.name) || ancestorNames(index, file, cls).slice(1).includes("BasicAuthentication"));
      const viaFunction = decoders.some((name) => fn.name === name || fn.name.startsWith(`${name}.`));
      if (viaClass || viaFunction) out.add(fn);
    }
  }
  return out;
}

/** Why an authentication class accepts Basic credentials, or null. */
function basicAuthClass(index: ModuleIndex, file: FileFacts, name: string, extra: ReadonlySet<string>): string | null {
  if (extra.has(name)) return "configured as a Basic Auth class";
  const symbol = resolveClassName(index, file, name);
  if (symbol.kind === "class") {
    const names = ancestorNames(index, symbol.file, symbol.cls);
    if (names.includes("BasicAuthentication") && symbol.cls.name !== "BasicAuthentication") return `a subclass of BasicAuthentication`;
    if (names.includes("BasicAuthentication")) return "name";
    if (symbol.cls.decodesBasicAuth) return "its authenticate() decodes the Authorization: Basic header";
    return null;
  }
  const qualified = symbol.kind === "external" ? symbol.qualified : name;
  return /(^|\.)BasicAuthentication$/.test(qualified) || /basic_?auth/i.test(qualified.split(".").pop() ?? "") ? "name" : null;
}
