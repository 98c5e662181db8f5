/**
 * The requesting user's row: how a handler names `request.user`, how this module names the
 * user model, and the statement that locks that row.
 */
import type { SyntaxNode } from "../parse/parser.js";
import { importedName } from "./imports.js";
import { type PySource, walk } from "./pySource.js";
import type { TextEdit } from "./types.js";

/** The request of a handler: `request` (its first parameter after `self`), or `self.request` in a class-based view. */
function requestNames(fn: SyntaxNode): string[] {
  const params = (fn.childForFieldName("parameters")?.namedChildren ?? []).map((p) => (p.type === "identifier" ? p.text : p.childForFieldName("name")?.text ?? p.namedChildren[0]?.text ?? ""));
  const first = params[0] === "self" || params[0] === "cls" ? params[1] : params[0];
  return [...new Set(["request", "self.request", ...(first ? [first] : [])])];
}

/** How `node` refers to the requesting user (`request.user`, `self.request.user`), or null when it does not. */
export function requestUserIn(fn: SyntaxNode, node: SyntaxNode): string | null {
  const requests = requestNames(fn);
  for (const n of walk(node)) {
    if (n.type !== "attribute" || n.childForFieldName("attribute")?.text !== "user") continue;
    if (requests.includes(n.childForFieldName("object")!.text)) return n.text;
  }
  // `self.check_object_permissions(request, obj)`: the whole request, so its user.
  const passed = walk(node).find((n) => n.type === "argument_list" && n.namedChildren.some((a) => requests.includes(a.text)));
  const request = passed?.namedChildren.find((a) => requests.includes(a.text));
  return request ? `${request.text}.user` : null;
}

/** The expression naming the user model here: a module-level `User = get_user_model()`, an imported `User`, or `get_user_model()` (imported when missing). */
export function userModel(source: PySource): { expr: string; edit: TextEdit | null } | { reason: string } {
  for (const statement of source.root.namedChildren) {
    const assignment = statement.type === "expression_statement" ? statement.namedChildren[0] : null;
    if (assignment?.type !== "assignment") continue;
    const left = assignment.childForFieldName("left");
    const right = assignment.childForFieldName("right");
    if (left?.type === "identifier" && right?.type === "call" && /(^|\.)get_user_model$/.test(right.childForFieldName("function")!.text) && right.childForFieldName("arguments")!.namedChildren.length === 0) {
      return { expr: left.text, edit: null };
    }
  }
  for (const statement of source.root.namedChildren) {
    if (statement.type !== "import_from_statement" || statement.childForFieldName("module_name")?.text !== "django.contrib.auth.models") continue;
    for (const name of statement.childrenForFieldName("name")) {
      if (name.type === "dotted_name" && name.text === "User") return { expr: "User", edit: null };
      if (name.type === "aliased_import" && name.childForFieldName("name")!.text === "User") return { expr: name.childForFieldName("alias")!.text, edit: null };
    }
  }
  const imported = importedName(source, "django.contrib.auth.get_user_model", 3);
  return "reason" in imported ? imported : { expr: `${imported.expr}()`, edit: imported.edit };
}

/** The statement that locks the requesting user's row until the transaction ends. */
export function lockUserStatement(model: string, requestUser: string): string {
  return `${model}.objects.select_for_update().get(pk=${requestUser}.pk)`;
}
