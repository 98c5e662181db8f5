/**
 * Names a fix needs from Django (`transaction.atomic`, `F`, `get_user_model`): how this file
 * already reaches them through its imports, or the import to add and where.
 */
import type { SyntaxNode } from "../parse/parser.js";
import { type PySource, endLine, isStatement, lineEnd, lineStart, namesIn, ownsItsLines } from "./pySource.js";
import type { TextEdit } from "./types.js";

export interface ImportedName {
  /** The expression that names the target in this file (`transaction.atomic`, `atomic`, `models.F`). */
  expr: string;
  /** The import to add, when the file has none that reaches the target. */
  edit: TextEdit | null;
}

interface ModuleImport {
  node: SyntaxNode;
  /** `from MODULE import …`; null for `import …`. */
  from: string | null;
  /** Imported name (dotted for `import a.b`) → local name. */
  names: Map<string, string>;
}

function moduleImports(source: PySource): ModuleImport[] {
  const out: ModuleImport[] = [];
  for (const node of source.root.namedChildren) {
    if (node.type === "import_from_statement") {
      const module = node.childForFieldName("module_name")?.text ?? "";
      const names = new Map<string, string>();
      for (const child of node.childrenForFieldName("name")) {
        if (child.type === "aliased_import") names.set(child.childForFieldName("name")!.text, child.childForFieldName("alias")!.text);
        else names.set(child.text, child.text);
      }
      out.push({ node, from: module, names });
    } else if (node.type === "import_statement") {
      const names = new Map<string, string>();
      for (const child of node.childrenForFieldName("name")) {
        if (child.type === "aliased_import") names.set(child.childForFieldName("name")!.text, child.childForFieldName("alias")!.text);
        else names.set(child.text, child.text);
      }
      out.push({ node, from: null, names });
    }
  }
  return out;
}

/**
 * How to name `qualified` (`django.db.transaction.atomic`) in this file, adding
 * `from <module> import <name>` (`from django.db import transaction`) when no import reaches it.
 * `importAt` splits the qualified name into the module and the imported name plus attributes.
 * Refused when the name to import is already used for something else in the file.
 */
export function importedName(source: PySource, qualified: string, importAt: number): ImportedName | { reason: string } {
  const parts = qualified.split(".");
  const imports = moduleImports(source);
  for (let k = 1; k < parts.length; k++) {
    const module = parts.slice(0, k).join(".");
    const rest = parts.slice(k + 1);
    for (const imp of imports) {
      const local = imp.from === module ? imp.names.get(parts[k]!) : undefined;
      if (local) return { expr: [local, ...rest].join("."), edit: null };
    }
  }
  for (const imp of imports) {
    if (imp.from !== null) continue;
    for (const [name, local] of imp.names) {
      if (!qualified.startsWith(`${name}.`)) continue;
      // `import django.db` binds `django`, through which the whole dotted name is reached.
      const base = local === name ? name : local;
      return { expr: `${base}.${qualified.slice(name.length + 1)}`, edit: null };
    }
  }
  const module = parts.slice(0, importAt).join(".");
  const name = parts[importAt]!;
  if (namesIn(source.root).has(name)) return { reason: `\`${name}\` already names something else in this file` };
  const at = insertionPoint(source, module);
  if (at === null) return { reason: "no place for an import was found" };
  return { expr: parts.slice(importAt).join("."), edit: { file: source.path, start: at, end: at, newText: `from ${module} import ${name}${source.eol}` } };
}

/**
 * Where a new `from <module> import …` goes: after the last top-level import of the same
 * top-level package before the first definition, else after the last such import of any
 * package, else after the module docstring, else at the top.
 */
function insertionPoint(source: PySource, module: string): number | null {
  const top = module.split(".")[0]!;
  const body = source.root.namedChildren;
  const firstCode = body.findIndex((n) => isStatement(n) && n.type !== "import_statement" && n.type !== "import_from_statement" && n.type !== "future_import_statement" && !isDocstring(n, body));
  const leading = (firstCode === -1 ? body : body.slice(0, firstCode)).filter((n) => n.type === "import_statement" || n.type === "import_from_statement" || n.type === "future_import_statement");
  const sameTop = leading.filter((n) => n.type !== "future_import_statement" && importedModules(n).some((m) => m.split(".")[0] === top));
  // With no import of the same package, third-party imports go before the project's relative ones.
  const firstRelative = leading.find((n) => n.type === "import_from_statement" && (n.childForFieldName("module_name")?.text ?? "").startsWith("."));
  if (sameTop.length === 0 && firstRelative && ownsItsLines(source, firstRelative)) return lineStart(source, firstRelative.startPosition.row + 1);
  // Among imports of the same package, before the first that sorts after it (isort's order).
  const laterSibling = sameTop.find((n) => n.type === "import_from_statement" && importedModules(n)[0]! > module);
  if (laterSibling && ownsItsLines(source, laterSibling)) return lineStart(source, laterSibling.startPosition.row + 1);
  const after = sameTop.at(-1) ?? leading.at(-1) ?? body.find((n) => isDocstring(n, body));
  if (!after) return 0;
  if (!ownsItsLines(source, after)) return null;
  const end = lineEnd(source, endLine(after));
  return end >= source.text.length ? null : lineStart(source, endLine(after) + 1);
}

function importedModules(node: SyntaxNode): string[] {
  if (node.type === "import_from_statement") return [node.childForFieldName("module_name")?.text ?? ""];
  return node.childrenForFieldName("name").map((n) => (n.type === "aliased_import" ? n.childForFieldName("name")!.text : n.text));
}

function isDocstring(node: SyntaxNode, body: readonly SyntaxNode[]): boolean {
  return node === body.find(isStatement) && node.type === "expression_statement" && node.namedChildren[0]?.type === "string";
}
