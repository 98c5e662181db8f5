/**
 * What a DRF view's `get_permissions()` returns for each `self.action`, read from its body when
 * the code says it statically: `if self.action in (…): return [AllowAny()]`, a local
 * `permission_classes = […]` per branch then `return [p() for p in permission_classes]`,
 * `self.permission_classes = (…)` then `super().get_permissions()`, or a class dict looked up by
 * action. Anything else makes the rule (or the whole method) unknown, never guessed.
 */
import type { SyntaxNode } from "../parse/parser.js";
import { classNameList } from "./djangoFacts.js";
import type { ActionTest, GetPermissionsFacts, PermissionOutcome, PermissionRule } from "./facts.js";
import { dottedName, field, positionalArguments, stringList, stringValue, unwrap } from "./syntax.js";

/** The facts of a class's own `def get_permissions(self)`, or null when it defines none. */
export function readGetPermissions(classBody: SyntaxNode): GetPermissionsFacts | null {
  for (const statement of classBody.namedChildren) {
    const definition = statement.type === "decorated_definition" ? field(statement, "definition") : statement;
    if (definition?.type !== "function_definition" || field(definition, "name")?.text !== "get_permissions") continue;
    const body = field(definition, "body");
    const rules: PermissionRule[] = [];
    const opaque = !body || !readBlock([...body.namedChildren], rules);
    return opaque ? { rules: [], opaque: true } : { rules, opaque: false };
  }
  return null;
}

/**
 * Class-level dicts of permission class lists keyed by action
 * (`permission_classes_by_action = {"create": [IsAdminUser], "list": [AllowAny]}`).
 */
export function readPermissionDict(name: string, value: SyntaxNode): Record<string, string[]> | null {
  if (!/permission/i.test(name) || value.type !== "dictionary") return null;
  const out: Record<string, string[]> = {};
  for (const pair of value.namedChildren) {
    if (pair.type === "comment") continue;
    const key = pair.type === "pair" ? field(pair, "key") : null;
    const list = pair.type === "pair" ? field(pair, "value") : null;
    const action = key ? stringValue(key) : null;
    if (action === null || !list || (list.type !== "list" && list.type !== "tuple")) return null;
    out[action] = classNameList(list);
  }
  return out;
}

/** Local names and `self.permission_classes`: the value each holds, unconditionally or per action. */
interface Env {
  base: Map<string, PermissionOutcome>;
  conditional: Map<string, { test: ActionTest | null; outcome: PermissionOutcome }[]>;
}

/** Reads statements into rules; false when something in them is not understood. */
function readBlock(statements: SyntaxNode[], rules: PermissionRule[]): boolean {
  const env: Env = { base: new Map([["self.permission_classes", { kind: "class" }]]), conditional: new Map() };
  for (const statement of statements) {
    if (statement.type === "comment" || statement.type === "pass_statement") continue;
    if (statement.type === "expression_statement") {
      const inner = statement.namedChildren[0];
      if (inner?.type === "string") continue; // docstring
      if (inner?.type === "assignment") {
        const assigned = readAssignment(inner);
        if (!assigned) return false;
        env.base.set(assigned.target, assigned.outcome);
        env.conditional.delete(assigned.target);
        continue;
      }
      return false;
    }
    if (statement.type === "return_statement") {
      const value = statement.namedChildren[0];
      if (!value) return false;
      return addReturn(value, env, null, rules);
    }
    if (statement.type === "if_statement") {
      if (!readIf(statement, env, rules)) return false;
      continue;
    }
    if (statement.type === "try_statement") return readTry(statement, rules);
    return false;
  }
  // Falling off the end returns None: DRF would fail; nothing to learn.
  return false;
}

/** One `if/elif/else` chain whose branches each return, or assign permission classes. */
function readIf(statement: SyntaxNode, env: Env, rules: PermissionRule[]): boolean {
  const clauses: { test: ActionTest | null; body: SyntaxNode | null }[] = [];
  const condition = field(statement, "condition");
  clauses.push({ test: condition ? readTest(condition) : unknownTest(), body: field(statement, "consequence") });
  for (const child of statement.namedChildren) {
    if (child.type === "elif_clause") {
      const c = field(child, "condition");
      clauses.push({ test: c ? readTest(c) : unknownTest(), body: field(child, "consequence") });
    } else if (child.type === "else_clause") {
      clauses.push({ test: null, body: field(child, "body") });
    }
  }
  // Clauses that fall through, with what each assigns.
  const fallThrough: { test: ActionTest | null; assigns: Map<string, PermissionOutcome> }[] = [];
  for (const clause of clauses) {
    const assigns = new Map<string, PermissionOutcome>();
    let returned = false;
    for (const s of clause.body?.namedChildren ?? []) {
      if (s.type === "comment" || s.type === "pass_statement") continue;
      const inner = s.type === "expression_statement" ? s.namedChildren[0] : null;
      if (inner?.type === "string") continue;
      if (inner?.type === "assignment") {
        const a = readAssignment(inner);
        if (!a) return false;
        assigns.set(a.target, a.outcome);
      } else if (s.type === "return_statement" && s.namedChildren[0]) {
        // The branch's own assignments are visible to its return.
        const local: Env = { base: new Map(env.base), conditional: new Map(env.conditional) };
        for (const [target, outcome] of assigns) {
          local.base.set(target, outcome);
          local.conditional.delete(target);
        }
        if (!addReturn(s.namedChildren[0], local, clause.test, rules)) return false;
        returned = true;
        break;
      } else {
        return false;
      }
    }
    if (!returned) fallThrough.push({ test: clause.test, assigns });
  }
  // After the chain a variable holds, per clause that fell through, what it assigned (or kept).
  const targets = new Set(fallThrough.flatMap((c) => [...c.assigns.keys()]));
  for (const target of targets) {
    // Assigned in two chains: the later one wins, an order these rules do not model.
    if (env.conditional.has(target)) return false;
    const before = env.base.get(target);
    const entries: { test: ActionTest | null; outcome: PermissionOutcome }[] = [];
    for (const clause of fallThrough) {
      const outcome = clause.assigns.get(target) ?? before;
      if (!outcome) return false;
      entries.push({ test: clause.test, outcome });
    }
    const last = entries[entries.length - 1];
    if (last && last.test === null) {
      env.base.set(target, last.outcome);
      entries.pop();
    }
    env.conditional.set(target, entries);
  }
  return true;
}

/** `try: return <by action lookup> except KeyError: return <default>`. */
function readTry(statement: SyntaxNode, rules: PermissionRule[]): boolean {
  const body = field(statement, "body");
  const handler = statement.namedChildren.find((c) => c.type === "except_clause");
  const returned = body?.namedChildren.find((s) => s.type === "return_statement")?.namedChildren[0];
  const fallback = handler?.namedChildren.find((c) => c.type === "block")?.namedChildren.find((s) => s.type === "return_statement")?.namedChildren[0];
  if (!returned || !fallback || (body?.namedChildren.length ?? 0) !== 1) return false;
  const env: Env = { base: new Map([["self.permission_classes", { kind: "class" }]]), conditional: new Map() };
  const primary = readValue(returned, env);
  const otherwise = readValue(fallback, env);
  if (!primary || primary.kind !== "by-action" || !otherwise) return false;
  rules.push({ test: null, outcome: { ...primary, fallback: otherwise.kind === "classes" || otherwise.kind === "class" ? otherwise : undefined } });
  return true;
}

/** A `return` under `test`: one rule, or one per conditional value of the variable it returns. */
function addReturn(value: SyntaxNode, env: Env, test: ActionTest | null, rules: PermissionRule[]): boolean {
  const variable = returnedVariable(value);
  if (variable !== null) {
    for (const c of env.conditional.get(variable) ?? []) rules.push({ test: c.test === null ? test : test === null ? c.test : unknownTest(), outcome: c.outcome });
    const base = env.base.get(variable);
    if (!base) return false;
    rules.push({ test, outcome: base });
    return true;
  }
  const outcome = readValue(value, env);
  rules.push({ test, outcome: outcome ?? { kind: "unknown" } });
  return true;
}

/** The variable whose classes a return instantiates: `[p() for p in permission_classes]`, `super().get_permissions()`. */
function returnedVariable(node: SyntaxNode): string | null {
  const value = unwrap(node);
  if (value.type === "list_comprehension" || value.type === "generator_expression") {
    const clause = value.namedChildren.find((c) => c.type === "for_in_clause");
    const source = clause ? field(clause, "right") : null;
    const name = source ? dottedName(source) : null;
    return name && (name === "self.permission_classes" || !name.includes(".")) ? name : null;
  }
  if (value.type === "call" && /^super\(\s*(\w+\s*,\s*self)?\s*\)\.get_permissions$/.test(field(value, "function")?.text.replace(/\s+/g, "") ?? "")) {
    return "self.permission_classes";
  }
  return null;
}

/** What a returned or assigned expression names: classes, the class-level ones, or a dict lookup by action. */
function readValue(node: SyntaxNode, env: Env): PermissionOutcome | null {
  const value = unwrap(node);
  // `[p() for p in perms]`, or the variable itself (`perms = self.permission_classes`).
  const variable = returnedVariable(value) ?? (value.type === "identifier" || value.text === "self.permission_classes" ? value.text : null);
  if (variable !== null) {
    if (env.conditional.has(variable)) return null;
    return env.base.get(variable) ?? null;
  }
  if (value.type === "list" || value.type === "tuple") {
    // `[AllowAny()]` (instances) or `[AllowAny]` (classes, in an assignment).
    const names: string[] = [];
    for (const item of value.namedChildren) {
      if (item.type === "comment") continue;
      const inner = unwrap(item);
      const target = inner.type === "call" && positionalArguments(field(inner, "arguments")).length === 0 ? field(inner, "function") : inner;
      if (!target) return null;
      if (target.type === "binary_operator") {
        const parts = classNameList(target);
        if (parts.length === 0) return null;
        names.push(...parts);
        continue;
      }
      const name = dottedName(target);
      if (!name) return null;
      names.push(name);
    }
    return { kind: "classes", names };
  }
  // `[p() for p in self.by_action[self.action]]`, `self.by_action.get(self.action, default)`.
  const comprehension = value.type === "list_comprehension" ? value.namedChildren.find((c) => c.type === "for_in_clause") : null;
  const lookup = comprehension ? field(comprehension, "right") : value;
  return lookup ? byActionLookup(lookup, env) : null;
}

function byActionLookup(node: SyntaxNode, env: Env): PermissionOutcome | null {
  if (node.type === "subscript") {
    const object = field(node, "value");
    const key = field(node, "subscript");
    const attr = object ? dottedName(object) : null;
    if (attr?.startsWith("self.") && key?.text === "self.action") return { kind: "by-action", attr: attr.slice(5) };
    return null;
  }
  if (node.type === "call" && field(node, "function")?.type === "attribute") {
    const fn = field(node, "function")!;
    const attr = dottedName(field(fn, "object") ?? fn);
    const args = positionalArguments(field(node, "arguments"));
    if (field(fn, "attribute")?.text !== "get" || !attr?.startsWith("self.") || args[0]?.text !== "self.action") return null;
    const fallback = args[1] ? readValue(args[1], env) : null;
    return { kind: "by-action", attr: attr.slice(5), fallback: fallback && (fallback.kind === "classes" || fallback.kind === "class") ? fallback : undefined };
  }
  return null;
}

/** `permission_classes = […]` or `self.permission_classes = […]`. */
function readAssignment(node: SyntaxNode): { target: string; outcome: PermissionOutcome } | null {
  const left = field(node, "left");
  const right = field(node, "right");
  const target = left ? dottedName(left) : null;
  if (!target || !right || (target.includes(".") && target !== "self.permission_classes")) return null;
  const outcome = readValue(right, { base: new Map([["self.permission_classes", { kind: "class" }]]), conditional: new Map() });
  return outcome ? { target, outcome } : null;
}

function unknownTest(): ActionTest {
  return { actions: [], negated: false, uncertain: true };
}

/**
 * `self.action == "x"`, `self.action in ("x", "y")`, their negations; `<action test> and <other>`
 * is uncertain for the actions it names; anything else is uncertain for every action.
 */
function readTest(node: SyntaxNode): ActionTest {
  const condition = unwrap(node);
  if (condition.type === "boolean_operator" && condition.children.some((c) => !c.isNamed && c.type === "and")) {
    const left = field(condition, "left");
    const test = left ? readTest(left) : unknownTest();
    return test.uncertain || test.negated ? unknownTest() : { ...test, uncertain: true };
  }
  if (condition.type === "not_operator") {
    const inner = field(condition, "argument");
    const test = inner ? readTest(inner) : unknownTest();
    return test.uncertain ? unknownTest() : { ...test, negated: !test.negated };
  }
  if (condition.type !== "comparison_operator") return unknownTest();
  const operands = condition.namedChildren.filter((c) => c.type !== "comment");
  const operators = condition.children.filter((c) => !c.isNamed).map((c) => c.type).join(" ");
  if (operands.length !== 2) return unknownTest();
  const [left, right] = operands as [SyntaxNode, SyntaxNode];
  const actionSide = left.text === "self.action" ? right : right.text === "self.action" ? left : null;
  if (!actionSide) return unknownTest();
  if (operators === "==" || operators === "!=") {
    const value = stringValue(actionSide);
    return value === null ? unknownTest() : { actions: [value], negated: operators === "!=", uncertain: false };
  }
  if ((operators === "in" || operators === "not in") && actionSide === right && ["tuple", "list", "set"].includes(right.type)) {
    const values = stringList(right);
    if (values.length !== right.namedChildren.filter((c) => c.type !== "comment").length) return unknownTest();
    return { actions: values, negated: operators === "not in", uncertain: false };
  }
  return unknownTest();
}
