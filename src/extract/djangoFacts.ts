/**
 * Module-level Django configuration, read statically: URL patterns, DRF router registrations
 * and settings assignments. Only literals are understood; anything computed is recorded as
 * unknown rather than guessed.
 */
import type { SyntaxNode } from "../parse/parser.js";
import type { RouterRegistration, SettingAssignment, UrlEntry, ViewRef } from "./facts.js";
import { dottedName, field, keywordArguments, positionalArguments, stringValue } from "./syntax.js";

/** Settings whose values matter to the project model. */
export const TRACKED_SETTINGS = new Set([
  "MIDDLEWARE", "MIDDLEWARE_CLASSES", "AUTHENTICATION_BACKENDS", "REST_FRAMEWORK", "ROOT_URLCONF", "INSTALLED_APPS",
]);

/** Reads `NAME = …`, `NAME += […]` for tracked settings; null when the statement is not one. */
export function readSettingAssignment(node: SyntaxNode): SettingAssignment | null {
  const left = field(node, "left");
  const right = field(node, "right");
  if (!left || !right || left.type !== "identifier" || !TRACKED_SETTINGS.has(left.text)) return null;
  const op = node.type === "augmented_assignment" ? "extend" : "set";
  return { name: left.text, op, line: node.startPosition.row + 1, ...readValue(right) };
}

/** `MIDDLEWARE.append("x")`, `.insert(0, "x")`, `.extend([...])`, `.remove("x")`. */
export function readSettingCall(call: SyntaxNode): SettingAssignment | null {
  const fn = field(call, "function");
  if (!fn || fn.type !== "attribute") return null;
  const target = field(fn, "object");
  const method = field(fn, "attribute")?.text ?? "";
  if (!target || target.type !== "identifier" || !TRACKED_SETTINGS.has(target.text)) return null;
  const args = positionalArguments(field(call, "arguments"));
  const line = call.startPosition.row + 1;
  if (method === "append" && args[0]) return { name: target.text, op: "extend", line, ...readValue(args[0], true) };
  if (method === "insert" && args[1]) return { name: target.text, op: "prepend", line, ...readValue(args[1], true) };
  if (method === "extend" && args[0]) return { name: target.text, op: "extend", line, ...readValue(args[0]) };
  if (method === "remove" && args[0]) return { name: target.text, op: "remove", line, ...readValue(args[0], true) };
  return null;
}

function readValue(node: SyntaxNode, single = false): Pick<SettingAssignment, "values" | "dict"> {
  if (single) {
    const value = stringValue(node);
    return { values: value === null ? null : [value] };
  }
  if (node.type === "dictionary") {
    const dict: Record<string, string[] | null> = {};
    for (const pair of node.namedChildren) {
      if (pair.type !== "pair") continue;
      const key = field(pair, "key");
      const value = field(pair, "value");
      const keyText = key ? stringValue(key) : null;
      if (keyText && value) dict[keyText] = readStrings(value);
    }
    return { values: null, dict };
  }
  if (node.type === "string") {
    const value = stringValue(node);
    return { values: value === null ? null : [value] };
  }
  return { values: readStrings(node) };
}

/** The strings of a list/tuple literal, or of `[…] + […]`; null when anything is computed. */
function readStrings(node: SyntaxNode): string[] | null {
  const out: string[] = [];
  const stack = [node];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (current.type === "list" || current.type === "tuple" || current.type === "parenthesized_expression") {
      const children = current.namedChildren.filter((c) => c.type !== "comment");
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    } else if (current.type === "binary_operator") {
      const right = field(current, "right");
      const left = field(current, "left");
      if (right) stack.push(right);
      if (left) stack.push(left);
    } else if (current.type === "string") {
      const value = stringValue(current);
      if (value === null) return null;
      out.push(value);
    } else if (current.type === "identifier" || current.type === "attribute") {
      // A class referenced directly in a list (`authentication_classes = [BasicAuthentication]`).
      out.push(`@${current.text}`);
    } else {
      return null;
    }
  }
  return out;
}

/** The names in a list/tuple of classes (`[BasicAuthentication, IsOwner]`), as written. */
export function classNameList(node: SyntaxNode): string[] {
  const values = readStrings(node) ?? [];
  return values.map((v) => (v.startsWith("@") ? v.slice(1) : v));
}

/** `urlpatterns = [...]`, `urlpatterns += [...]`, `urlpatterns = [...] + router.urls`. */
export function readUrlpatterns(node: SyntaxNode): UrlEntry[] | null {
  const left = field(node, "left");
  const right = field(node, "right");
  if (!left || !right || left.text !== "urlpatterns") return null;
  return readUrlList(right);
}

export function readUrlAppend(call: SyntaxNode): UrlEntry[] | null {
  const fn = field(call, "function");
  if (!fn || fn.type !== "attribute" || field(fn, "object")?.text !== "urlpatterns") return null;
  const method = field(fn, "attribute")?.text;
  const arg = positionalArguments(field(call, "arguments"))[method === "insert" ? 1 : 0];
  if (!arg || (method !== "append" && method !== "extend" && method !== "insert")) return null;
  return method === "extend" ? readUrlList(arg) : readUrlList(arg, true);
}

function readUrlList(node: SyntaxNode, single = false): UrlEntry[] {
  const out: UrlEntry[] = [];
  const stack = single ? [node] : [node];
  let first = single;
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (!first && (current.type === "list" || current.type === "tuple" || current.type === "parenthesized_expression")) {
      const children = current.namedChildren.filter((c) => c.type !== "comment");
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
      continue;
    }
    first = false;
    // `[..., *router.urls]`: the spliced list's own entries.
    if (current.type === "list_splat" && current.namedChildren[0]) {
      stack.push(current.namedChildren[0]);
      continue;
    }
    if (current.type === "binary_operator") {
      const right = field(current, "right");
      const left = field(current, "left");
      if (right) stack.push(right);
      if (left) stack.push(left);
      continue;
    }
    if (current.type === "attribute" && field(current, "attribute")?.text === "urls") {
      // `router.urls` spliced directly into urlpatterns.
      out.push({ line: current.startPosition.row + 1, route: "", regex: false, view: { kind: "router", router: field(current, "object")?.text ?? "" } });
      continue;
    }
    if (current.type === "call") {
      const entry = readUrlCall(current);
      if (entry) out.push(entry);
    }
  }
  return out;
}

function readUrlCall(call: SyntaxNode): UrlEntry | null {
  const name = (dottedName(field(call, "function") ?? call) ?? "").split(".").pop();
  if (name !== "path" && name !== "re_path" && name !== "url") return null;
  const args = field(call, "arguments");
  const [routeNode, viewNode] = positionalArguments(args);
  const route = routeNode ? routeString(routeNode) : null;
  if (route === null || !viewNode) return null;
  const keywords = keywordArguments(args);
  const entry: UrlEntry = { line: call.startPosition.row + 1, route, regex: name !== "path", view: readViewRef(viewNode) };
  const urlName = keywords.get("name");
  if (urlName) {
    const value = stringValue(urlName);
    if (value !== null) entry.name = value;
  }
  return entry;
}

/**
 * A route literal, or a route built at run time with what it is built from kept as a
 * placeholder: the template of `"^{mount_point}api/$".format(...)`, `f"{prefix}api/"`,
 * `prefix + "api/"`, or a bare `prefix` (`{prefix}`), so the routes below still resolve.
 */
function routeString(node: SyntaxNode): string | null {
  const literal = stringValue(node);
  if (literal !== null) return literal;
  switch (node.type) {
    case "identifier":
    case "attribute":
      return `{${node.text}}`;
    case "string": {
      // An f-string: its literal parts, and each interpolation as `{expression}`.
      let out = "";
      for (const part of node.namedChildren) {
        if (part.type === "string_content") out += part.text;
        else if (part.type === "interpolation") out += `{${(part.namedChildren[0]?.text ?? "").replace(/\s+/g, "")}}`;
      }
      return out;
    }
    case "binary_operator": {
      const [left, right] = [field(node, "left"), field(node, "right")];
      const a = left ? routeString(left) : null;
      const b = right ? routeString(right) : null;
      return a !== null && b !== null ? a + b : null;
    }
    case "parenthesized_expression":
      return node.namedChildren[0] ? routeString(node.namedChildren[0]) : null;
  }
  const fn = node.type === "call" ? field(node, "function") : null;
  if (fn?.type === "attribute" && field(fn, "attribute")?.text === "format") {
    const template = field(fn, "object");
    return template ? stringValue(template) : null;
  }
  return null;
}

function readViewRef(node: SyntaxNode): ViewRef {
  if (node.type === "call") {
    const fn = field(node, "function");
    const callee = fn ? dottedName(fn) ?? "" : "";
    const args = field(node, "arguments");
    if (callee.split(".").pop() === "include") {
      const target = positionalArguments(args)[0];
      if (!target) return { kind: "unknown", text: node.text };
      const first = target.type === "tuple" ? target.namedChildren[0] ?? target : target;
      const module = stringValue(first);
      if (module !== null) return { kind: "include", module };
      if (first.type === "attribute" && field(first, "attribute")?.text === "urls") return { kind: "router", router: field(first, "object")?.text ?? "" };
      if (first.type === "list") return { kind: "inline", patterns: readUrlList(first) };
      return { kind: "include-name", name: first.text };
    }
    if (fn?.type === "attribute" && field(fn, "attribute")?.text === "as_view") {
      const target = dottedName(field(fn, "object") ?? fn) ?? "";
      const actions: Record<string, string> = {};
      const mapping = positionalArguments(args)[0];
      if (mapping?.type === "dictionary") {
        for (const pair of mapping.namedChildren) {
          const key = pair.type === "pair" ? field(pair, "key") : null;
          const value = pair.type === "pair" ? field(pair, "value") : null;
          const method = key ? stringValue(key) : null;
          const action = value ? stringValue(value) : null;
          if (method && action) actions[method.toLowerCase()] = action;
        }
      }
      return Object.keys(actions).length > 0 ? { kind: "class", target, actions } : { kind: "class", target };
    }
    return { kind: "unknown", text: node.text.slice(0, 120) };
  }
  const dotted = dottedName(node);
  if (dotted) return dotted.endsWith(".urls") ? { kind: "site", text: dotted } : { kind: "callable", target: dotted };
  const module = stringValue(node);
  if (module !== null) return { kind: "callable", target: module };
  return { kind: "unknown", text: node.text.slice(0, 120) };
}

/** `router = DefaultRouter()` → the router variable; `router.register(prefix, ViewSet, basename=…)`. */
export function readRouterRegistration(call: SyntaxNode): RouterRegistration | null {
  const fn = field(call, "function");
  if (!fn || fn.type !== "attribute" || field(fn, "attribute")?.text !== "register") return null;
  const router = field(fn, "object");
  const args = field(call, "arguments");
  const [prefixNode, viewsetNode] = positionalArguments(args);
  const prefix = prefixNode ? stringValue(prefixNode) : null;
  const viewset = viewsetNode ? dottedName(viewsetNode) : null;
  if (!router || prefix === null || !viewset) return null;
  return { router: router.text, prefix, viewset, line: call.startPosition.row + 1 };
}

/** `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")`. */
export function readSettingsModuleDefault(call: SyntaxNode): string | null {
  const args = positionalArguments(field(call, "arguments"));
  if (args.length < 2 || stringValue(args[0]!) !== "DJANGO_SETTINGS_MODULE") return null;
  return stringValue(args[1]!);
}
