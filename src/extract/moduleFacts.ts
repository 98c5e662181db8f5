/**
 * Module-level facts gathered in one iterative pass over the whole tree: imports, classes,
 * Django models and their uniqueness, settings, fields assigned anywhere, and the function
 * definitions the function walker will model.
 */
import type { SyntaxNode } from "../parse/parser.js";
import type { ClassFacts, Directive, ModelFacts, ModelMeta, ParseProblem, RouterRegistration, SettingAssignment, SettingsFacts, UrlEntry } from "./facts.js";
import { readGetPermissions, readPermissionDict } from "./actionPermissionFacts.js";
import {
  classNameList, readRouterRegistration, readSettingAssignment, readSettingCall, readSettingsModuleDefault, readUrlAppend, readUrlpatterns,
} from "./djangoFacts.js";
import {
  SourceLines, dottedName, field, keywordArguments, positionalArguments, stringList, stringValue,
} from "./syntax.js";

export interface FunctionSite {
  node: SyntaxNode;
  decorators: SyntaxNode[];
  qualifiedName: string;
  className: string | null;
  classBases: string[];
}

export interface ModuleScan {
  imports: Record<string, string>;
  classes: ClassFacts[];
  models: ModelFacts[];
  settings: SettingsFacts | null;
  mutatedFields: Set<string>;
  functions: FunctionSite[];
  problems: ParseProblem[];
  /** Spans of syntax errors, so functions that contain one can be skipped. */
  errorSpans: [number, number][];
  directives: Directive[];
  urlpatterns: UrlEntry[] | null;
  routers: RouterRegistration[];
  settingAssignments: SettingAssignment[];
  starImports: string[];
  settingsModule: string | null;
  moduleDicts: string[];
}

/** Code that decodes HTTP Basic credentials: reads the Authorization header and base64-decodes it. */
export const BASIC_AUTH_DECODING = /(HTTP_AUTHORIZATION|["']Authorization["']|get_authorization_header)[\s\S]*?(b64decode|base64|decodebytes)|(b64decode|base64)[\s\S]*?HTTP_AUTHORIZATION/;

interface Frame {
  node: SyntaxNode;
  prefix: string;
  className: string | null;
  classBases: string[];
  /** Inside a function body: the function walker records mutations there, knowing the models. */
  inFunction: boolean;
}

const MAX_PROBLEMS = 20;

export function scanModule(root: SyntaxNode, lines: SourceLines): ModuleScan {
  const scan: ModuleScan = {
    imports: {}, classes: [], models: [], settings: null, mutatedFields: new Set(), functions: [], problems: [], errorSpans: [], directives: [],
    urlpatterns: null, routers: [], settingAssignments: [], starImports: [], settingsModule: null, moduleDicts: [],
  };
  const stack: Frame[] = [{ node: root, prefix: "", className: null, classBases: [], inFunction: false }];
  const fast = !root.hasError;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { node } = frame;
    switch (node.type) {
      case "ERROR":
      case "MISSING":
        recordProblem(scan, node, lines);
        break;
      case "print_statement":
      case "exec_statement":
        // tree-sitter-python still accepts Python 2 statements; say so once per file.
        if (!scan.problems.some((p) => p.message.startsWith("Python 2"))) {
          const line = node.startPosition.row + 1;
          scan.problems.push({ line, message: `Python 2 syntax (${node.type.replace("_statement", "")} statement) at line ${line}: stalecheck reads Python 3; the rest of the file is analysed as far as it parses` });
        }
        break;
      case "comment":
        // Collected below, in one search of the tree.
        continue;
      case "import_statement":
      case "import_from_statement":
      case "future_import_statement":
        recordImport(scan.imports, node, scan.starImports);
        continue;
      case "decorated_definition": {
        const definition = field(node, "definition");
        if (definition) {
          const decorators = node.namedChildren.filter((c) => c.type === "decorator");
          pushDefinition(stack, scan, definition, decorators, frame);
        }
        continue;
      }
      case "function_definition":
      case "class_definition":
        pushDefinition(stack, scan, node, [], frame);
        continue;
      case "assignment":
      case "augmented_assignment":
        recordAssignment(scan, node, frame);
        break;
      case "call":
        if (!frame.inFunction) {
          for (const name of mutatedByCall(node)) scan.mutatedFields.add(`*.${name}`);
          if (frame.className === null) recordModuleCall(scan, node);
        }
        break;
    }
    if (node.isMissing) recordProblem(scan, node, lines);
    // Inside a function body the function walker reads the code; here only nested definitions
    // matter, and they sit in statement containers. Skipping expression subtrees halves the walk.
    // A tree with syntax errors is walked fully, to find every broken region.
    if (frame.inFunction && fast && !STATEMENT_CONTAINERS.has(node.type)) continue;
    const children = node.namedChildren;
    for (let i = children.length - 1; i >= 0; i--) stack.push({ ...frame, node: children[i]! });
  }
  if (!fast) recordUnvisitedProblems(root, scan, lines);
  scan.problems.sort((a, b) => a.line - b.line);
  // Only comments that can suppress findings are kept: facts stay small.
  if (/noqa|stalecheck/i.test(lines.text)) {
    for (const comment of root.descendantsOfType("comment")) {
      if (/noqa|stalecheck\s*:/i.test(comment.text)) scan.directives.push({ line: comment.startPosition.row + 1, text: comment.text });
    }
  }
  return scan;
}

/** Node types that hold statements, where a nested def or class can appear. */
const STATEMENT_CONTAINERS = new Set([
  "block", "if_statement", "elif_clause", "else_clause", "for_statement", "while_statement", "with_statement",
  "try_statement", "except_clause", "except_group_clause", "finally_clause", "match_statement", "case_clause",
  "decorated_definition", "function_definition", "class_definition", "module",
]);

/**
 * Broken regions the walk above does not reach: parameter lists and other parts of definitions
 * are not walked, and a missing token (the `)` of `def f(:`) is no node of its own: the node
 * holding it is broken while none of its named children is. Follows only broken subtrees.
 */
function recordUnvisitedProblems(root: SyntaxNode, scan: ModuleScan, lines: SourceLines): void {
  const recorded = new Set(scan.errorSpans.map(([start, end]) => `${start}:${end}`));
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const broken = node.namedChildren.filter((child) => child.hasError);
    if (node.type === "ERROR" || node.isMissing || broken.length === 0) {
      if (!recorded.has(`${node.startIndex}:${node.endIndex}`)) recordProblem(scan, node, lines);
      continue;
    }
    stack.push(...broken);
  }
}

function recordProblem(scan: ModuleScan, node: SyntaxNode, lines: SourceLines): void {
  scan.errorSpans.push([node.startIndex, node.endIndex]);
  if (scan.problems.length >= MAX_PROBLEMS) return;
  const site = lines.site(node);
  const what = node.isMissing ? `missing ${node.type}` : "syntax error";
  scan.problems.push({ line: site.line, message: `${what} at line ${site.line}, column ${site.column}; that region was skipped` });
}

function pushDefinition(stack: Frame[], scan: ModuleScan, definition: SyntaxNode, decorators: SyntaxNode[], frame: Frame): void {
  const name = field(definition, "name")?.text ?? "<anonymous>";
  const qualifiedName = frame.prefix ? `${frame.prefix}.${name}` : name;
  const body = field(definition, "body");
  if (definition.type === "function_definition") {
    scan.functions.push({ node: definition, decorators, qualifiedName, className: frame.className, classBases: frame.classBases });
    // Nested functions are modelled on their own; the walker skips them inside their parent.
    if (body) stack.push({ node: body, prefix: qualifiedName, className: null, classBases: [], inFunction: true });
    return;
  }
  const superclasses = field(definition, "superclasses");
  // A typed base (`GenericAPIView[Any]`, `ModelViewSet[Invoice]`, as django-stubs has it) is
  // the class it subscripts.
  const bases = superclasses
    ? positionalArguments(superclasses).map((b) => {
        const base = b.type === "subscript" ? (field(b, "value") ?? b) : b;
        return dottedName(base) ?? b.text;
      })
    : [];
  const cls: ClassFacts = {
    name: qualifiedName, bases, site: { line: definition.startPosition.row + 1, column: 1, endLine: definition.endPosition.row + 1, text: `class ${name}` },
    attrs: body ? readClassAttrs(body) : {}, decodesBasicAuth: BASIC_AUTH_DECODING.test(definition.text),
  };
  // DRF's per-action permissions: only classes that have them carry the facts.
  const getPermissions = body ? readGetPermissions(body) : null;
  if (getPermissions) cls.getPermissions = getPermissions;
  const permissionDicts = body ? readPermissionDicts(body) : null;
  if (permissionDicts) cls.permissionDicts = permissionDicts;
  scan.classes.push(cls);
  // A model: a base named like one, or model field declarations or model options (abstract bases
  // hide the name). A class that only inherits from a model is found by the project stage.
  const notModel = bases.some((b) => /Serializer|Form|Admin|FilterSet|Schema|Test|Factory/.test(b));
  if (body && !notModel && (bases.some((b) => /(^|\.)(\w*Model)$/.test(b)) || declaresModelFields(body))) {
    scan.models.push(readModel(name, bases, body));
  } else if (body && !notModel && bases.length > 0 && body.namedChildren.some((s) => (s.type === "class_definition" && field(s, "name")?.text === "Meta") || (s.type === "function_definition" && field(s, "name")?.text === "save"))) {
    // `class Meta: ordering = [...]` alone drops an abstract base's constraints: kept in case it is a model.
    cls.asModel = readModel(name, bases, body);
  }
  if (body) stack.push({ node: body, prefix: qualifiedName, className: qualifiedName, classBases: bases, inFunction: frame.inFunction });
}

function recordModuleCall(scan: ModuleScan, node: SyntaxNode): void {
  const setting = readSettingCall(node);
  if (setting) scan.settingAssignments.push(setting);
  const appended = readUrlAppend(node);
  if (appended) scan.urlpatterns = [...(scan.urlpatterns ?? []), ...appended];
  const registration = readRouterRegistration(node);
  if (registration) scan.routers.push(registration);
  scan.settingsModule ??= readSettingsModuleDefault(node);
}

function recordImport(imports: Record<string, string>, node: SyntaxNode, starImports: string[]): void {
  if (node.type === "import_statement") {
    for (const child of node.namedChildren) {
      if (child.type === "dotted_name") imports[child.text.split(".")[0]!] = child.text.split(".")[0]!;
      else if (child.type === "aliased_import") {
        const name = field(child, "name")?.text;
        const alias = field(child, "alias")?.text;
        if (name && alias) imports[alias] = name;
      }
    }
    return;
  }
  if (node.type !== "import_from_statement") return;
  const moduleNode = field(node, "module_name");
  const moduleName = moduleNode?.text ?? "";
  if (node.namedChildren.some((c) => c.type === "wildcard_import")) starImports.push(moduleName);
  // `from . import views` → `.views`; `from .models import X` → `.models.X`.
  const join = (name: string) => (moduleName.endsWith(".") ? `${moduleName}${name}` : `${moduleName}.${name}`);
  for (const child of node.namedChildren) {
    if (child === moduleNode) continue;
    if (child.type === "dotted_name") imports[child.text] = join(child.text);
    else if (child.type === "aliased_import") {
      const name = field(child, "name")?.text;
      const alias = field(child, "alias")?.text;
      if (name && alias) imports[alias] = join(name);
    }
  }
}

/** Fields the assignment writes, and settings the module defines. */
function recordAssignment(scan: ModuleScan, node: SyntaxNode, frame: Frame): void {
  const left = field(node, "left");
  if (!left) return;
  if (left.type === "attribute" && !frame.inFunction) {
    const attr = field(left, "attribute")?.text;
    if (attr) scan.mutatedFields.add(`*.${normaliseField(attr)}`);
  }
  if (frame.className !== null || frame.prefix !== "") return;
  const setting = readSettingAssignment(node);
  if (setting) scan.settingAssignments.push(setting);
  const value = field(node, "right");
  if (left.type === "identifier" && value && (value.type === "dictionary" || /^(dict|defaultdict|OrderedDict|collections\.\w+)\(/.test(value.text))) {
    scan.moduleDicts.push(left.text);
  }
  const patterns = readUrlpatterns(node);
  if (patterns) scan.urlpatterns = [...(node.type === "augmented_assignment" ? scan.urlpatterns ?? [] : []), ...patterns];
  const right = field(node, "right");
  if (left.type === "identifier" && left.text === "DATABASES" && right) {
    scan.settings = readDatabases(right, scan.settings);
  } else if (left.type === "subscript" && /^DATABASES\b/.test(left.text) && /ATOMIC_REQUESTS/.test(left.text)) {
    scan.settings ??= { engines: null, atomicRequests: false };
    scan.settings.atomicRequests ||= right?.text === "True";
  } else if (left.type === "subscript" && /^DATABASES\b/.test(left.text) && /ENGINE/.test(left.text) && right) {
    scan.settings ??= { engines: [], atomicRequests: false };
    const engine = stringValue(right);
    if (engine === null) scan.settings.engines = null;
    else scan.settings.engines?.push(engine);
  }
}

function readDatabases(value: SyntaxNode, previous: SettingsFacts | null): SettingsFacts {
  const settings: SettingsFacts = { engines: [], atomicRequests: previous?.atomicRequests ?? false };
  if (value.type !== "dictionary") return { engines: null, atomicRequests: settings.atomicRequests };
  const stack: SyntaxNode[] = [value];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === "pair") {
      const key = field(node, "key");
      const item = field(node, "value");
      const keyText = key ? stringValue(key) : null;
      if (keyText === "ENGINE" && item) {
        const engine = stringValue(item);
        if (engine === null) settings.engines = null;
        else settings.engines?.push(engine);
      } else if (keyText === "ATOMIC_REQUESTS" && item?.text === "True") {
        settings.atomicRequests = true;
      }
      if (item && item.type === "dictionary") stack.push(item);
      else if (item && item.type !== "string" && keyText !== "ENGINE" && keyText !== "ATOMIC_REQUESTS" && keyText !== null && !["NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS", "TEST", "CONN_MAX_AGE"].includes(keyText)) {
        // A database alias whose configuration is computed (dj_database_url.config(...)): engine unknown.
        settings.engines = null;
      }
    } else {
      for (const child of node.namedChildren) stack.push(child);
    }
  }
  return settings;
}

/**
 * Field names a call assigns: `update(status=…)`, `setattr(obj, "status", …)`,
 * `save(update_fields=[…])`, `bulk_update(objs, […])`, `update_or_create(defaults={…})`.
 */
const MUTATING_CALLS = new Set(["update", "aupdate", "setattr", "update_or_create", "aupdate_or_create", "bulk_update", "abulk_update", "save", "asave"]);

export function mutatedByCall(node: SyntaxNode): string[] {
  const fields = new Set<string>();
  const fn = field(node, "function");
  const args = field(node, "arguments");
  if (!fn || !args) return [];
  const name = fn.type === "attribute" ? field(fn, "attribute")?.text : fn.type === "identifier" ? fn.text : undefined;
  // Runs for every call in the tree: most calls are none of these.
  if (!name || !MUTATING_CALLS.has(name)) return [];
  const keywords = keywordArguments(args);
  if (name === "update" || name === "aupdate") {
    for (const key of keywords.keys()) fields.add(normaliseField(key));
  } else if (name === "setattr") {
    const attr = positionalArguments(args)[1];
    const value = attr ? stringValue(attr) : null;
    if (value) fields.add(normaliseField(value));
  } else if (name === "update_or_create" || name === "aupdate_or_create") {
    const defaults = keywords.get("defaults");
    if (defaults?.type === "dictionary") {
      for (const pair of defaults.namedChildren) {
        const key = pair.type === "pair" ? field(pair, "key") : null;
        const text = key ? stringValue(key) : null;
        if (text) fields.add(normaliseField(text));
      }
    }
  } else if (name === "bulk_update" || name === "abulk_update") {
    const list = keywords.get("fields") ?? positionalArguments(args)[1];
    if (list) for (const value of stringList(list)) fields.add(normaliseField(value));
  }
  if (name === "save" || name === "asave") {
    const updateFields = keywords.get("update_fields");
    if (updateFields) for (const value of stringList(updateFields)) fields.add(normaliseField(value));
  }
  return [...fields];
}

/** `owner_id` and `owner` name the same column for our purposes. */
export function normaliseField(name: string): string {
  const base = name.split("__")[0]!;
  return base.endsWith("_id") && base.length > 3 ? base.slice(0, -3) : base;
}

/** Class-level `name = [A, B]` lists (permission_classes, authentication_classes, …). */
function readClassAttrs(body: SyntaxNode): Record<string, string[]> {
  const attrs: Record<string, string[]> = {};
  for (const statement of body.namedChildren) {
    const assignment = statement.type === "expression_statement" ? statement.namedChildren[0] : null;
    if (!assignment || assignment.type !== "assignment") continue;
    const left = field(assignment, "left");
    const right = field(assignment, "right");
    if (left?.type !== "identifier" || !right) continue;
    if (/_classes$|^permission_required$|^http_method_names$|^queryset$|^model$/.test(left.text)) {
      attrs[left.text] = right.type === "list" || right.type === "tuple" ? classNameList(right) : [dottedName(right) ?? right.text.slice(0, 120)];
    }
  }
  return attrs;
}

/** Class-level dicts of permission class lists by action; null when the class has none. */
function readPermissionDicts(body: SyntaxNode): Record<string, Record<string, string[]>> | null {
  let out: Record<string, Record<string, string[]>> | null = null;
  for (const statement of body.namedChildren) {
    const assignment = statement.type === "expression_statement" ? statement.namedChildren[0] : null;
    if (!assignment || assignment.type !== "assignment") continue;
    const left = field(assignment, "left");
    const right = field(assignment, "right");
    const dict = left?.type === "identifier" && right ? readPermissionDict(left.text, right) : null;
    if (dict) (out ??= {})[left!.text] = dict;
  }
  return out;
}

/** Field declarations (`models.CharField(...)`, `fields.ForeignKey(...)`), or a Meta with model options. */
function declaresModelFields(body: SyntaxNode): boolean {
  return body.namedChildren.some((statement) => {
    if (statement.type === "class_definition") {
      return field(statement, "name")?.text === "Meta" && /\b(unique_together|constraints|db_table|abstract)\s*=/.test(statement.text);
    }
    const assignment = statement.type === "expression_statement" ? statement.namedChildren[0] : null;
    const right = assignment?.type === "assignment" ? field(assignment, "right") : null;
    return right?.type === "call" && /^(\w+\.)?\w+(Field|Key)$/.test(dottedName(field(right, "function") ?? right) ?? "");
  });
}

function readModel(name: string, bases: string[], body: SyntaxNode): ModelFacts {
  const uniqueSets: string[][] = [["pk"], ["id"]];
  const nullable: string[] = [];
  const managers: string[] = [];
  const nullSafe: NonNullable<ModelFacts["nullSafe"]> = [];
  let meta: ModelMeta | null = null;
  let abstract = false;
  let fixedPk = false;
  for (const statement of body.namedChildren) {
    if (statement.type === "expression_statement") {
      const assignment = statement.namedChildren[0];
      if (!assignment || assignment.type !== "assignment") continue;
      const left = field(assignment, "left");
      const right = field(assignment, "right");
      if (!left || left.type !== "identifier" || !right || right.type !== "call") continue;
      const fieldType = dottedName(field(right, "function") ?? right) ?? "";
      // `objects = PageViewManager()`, `objects = PageViewQuerySet.as_manager()`.
      const manager = /^(\w+\.)*(\w+(Manager|QuerySet|Queryset))(\.as_manager)?$/.exec(fieldType);
      if (manager) managers.push(manager[2]!);
      const keywords = keywordArguments(field(right, "arguments"));
      if (keywords.get("unique")?.text === "True" || keywords.get("primary_key")?.text === "True" || fieldType.endsWith("OneToOneField")) {
        uniqueSets.push([normaliseField(left.text)]);
      }
      if (keywords.get("null")?.text === "True") nullable.push(normaliseField(left.text));
    } else if (statement.type === "function_definition" && field(statement, "name")?.text === "save") {
      fixedPk ||= savesFixedPk(statement);
    } else if (statement.type === "class_definition" && field(statement, "name")?.text === "Meta") {
      const metaBody = field(statement, "body");
      const superclasses = field(statement, "superclasses");
      // `class Meta(Base.Meta)`, `class Meta(base.Base.Meta)`: the model whose Meta it extends.
      const metaBases = superclasses
        ? positionalArguments(superclasses).map((b) => /^(?:\w+\.)*(\w+)\.Meta$/.exec(dottedName(b) ?? "")?.[1]).filter((b): b is string => b !== undefined)
        : [];
      meta = { bases: metaBases, sets: {}, reuses: {} };
      if (metaBody) abstract = readMeta(metaBody, uniqueSets, nullSafe, meta);
    }
  }
  return {
    name, bases, uniqueSets, ...(nullable.length > 0 ? { nullableFields: nullable } : {}), ...(nullSafe.length > 0 ? { nullSafe } : {}),
    ...(managers.length > 0 ? { managers } : {}), ...(fixedPk ? { fixedPk } : {}), ...(abstract ? { abstract } : {}), ...(meta ? { meta } : {}),
  };
}

/**
 * A singleton: `save()` sets `self.pk` (or `self.id`) to a literal or a constant in its own body,
 * not under a condition, so every insert (a `create()` too) uses the same key and a second fails.
 */
function savesFixedPk(definition: SyntaxNode): boolean {
  const body = field(definition, "body");
  return (body?.namedChildren ?? []).some((statement) => {
    const assignment = statement.type === "expression_statement" ? statement.namedChildren[0] : null;
    if (assignment?.type !== "assignment") return false;
    const left = field(assignment, "left")?.text;
    const right = field(assignment, "right");
    if ((left !== "self.pk" && left !== "self.id") || !right) return false;
    return right.type === "integer" || (right.type === "string" && stringValue(right) !== null) || /^(\w+\.)*[A-Z][A-Z0-9_]*$/.test(right.text);
  });
}

/** Reads unique sets from a Meta body into `uniqueSets` and `meta`; answers whether it says `abstract = True`. */
function readMeta(body: SyntaxNode, uniqueSets: string[][], nullSafe: NonNullable<ModelFacts["nullSafe"]>, meta: ModelMeta): boolean {
  let abstract = false;
  for (const statement of body.namedChildren) {
    const assignment = statement.type === "expression_statement" ? statement.namedChildren[0] : null;
    if (!assignment || assignment.type !== "assignment") continue;
    const key = field(assignment, "left")?.text;
    const value = field(assignment, "right");
    if (!value) continue;
    if (key === "abstract") abstract = value.text === "True";
    if (key !== "unique_together" && key !== "constraints") continue;
    // `Base.Meta.constraints + [...]`, `[*Base.Meta.constraints, ...]`: the base's sets are kept.
    const reused = [...value.text.matchAll(/\b(\w+)\.Meta\.(?:unique_together|constraints)\b/g)].map((m) => m[1]!);
    if (reused.length > 0) meta.reuses[key] = [...new Set(reused)];
    const sets: string[][] = (meta.sets[key] = []);
    if (key === "unique_together") {
      const direct = stringList(value);
      if (direct.length > 0 && direct.length === value.namedChildren.length) sets.push(direct.map(normaliseField));
      else for (const group of value.namedChildren) {
        const names = stringList(group);
        if (names.length > 0) sets.push(names.map(normaliseField));
      }
      uniqueSets.push(...sets);
    } else {
      // `[UniqueConstraint(...)]`, or `Parent.Meta.constraints + [UniqueConstraint(...)]`: every
      // constraint written in the value (the parent's own come through `reuses`).
      for (const constraint of value.descendantsOfType("call")) {
        const ctor = dottedName(field(constraint, "function") ?? constraint) ?? "";
        if (!ctor.endsWith("UniqueConstraint")) continue;
        const keywords = keywordArguments(field(constraint, "arguments"));
        const fields = keywords.get("fields");
        const names = fields ? stringList(fields).map(normaliseField) : [];
        if (names.length === 0) continue;
        const condition = keywords.get("condition");
        if (!condition) {
          sets.push(names);
          uniqueSets.push(names);
          if (keywords.get("nulls_distinct")?.text === "False") nullSafe.push({ fields: names, field: null });
          continue;
        }
        // A partial constraint holds among the rows its condition selects: a lookup that fixes the
        // condition's fields too (`Q(is_active=True)` with `is_active=` in the lookup) is covered.
        const conditionFields = [...new Set(condition.descendantsOfType("keyword_argument").map((k) => field(k, "name")?.text ?? "").filter((k) => k !== ""))];
        const only = conditionFields.length === 1 ? condition.descendantsOfType("keyword_argument")[0]! : null;
        const value = only?.childForFieldName("value")?.text;
        const nullField = !only ? null : conditionFields[0]!.endsWith("__isnull") ? (value === "True" ? conditionFields[0]!.slice(0, -"__isnull".length) : null) : value === "None" ? conditionFields[0]! : null;
        if (nullField !== null && !nullField.includes("__")) nullSafe.push({ fields: names, field: normaliseField(nullField) });
        else {
          const partial = [...new Set([...names, ...conditionFields.map((k) => normaliseField(k.replace(/__\w+$/, "")))])];
          sets.push(partial);
          uniqueSets.push(partial);
        }
      }
    }
  }
  return abstract;
}
