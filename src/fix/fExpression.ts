/**
 * What an object's pending field assignments write, as `update()` keyword arguments: a plain
 * assignment writes the value now in memory (`status=invoice.status`); arithmetic on the field's
 * own value (`obj.n += 1`, `obj.n = obj.n - x`) becomes an `F()` expression computed by the
 * database (`n=F("n") + 1`), so that a concurrent change to the same field is not overwritten.
 */
import type { SyntaxNode } from "../parse/parser.js";
import { walk } from "./pySource.js";

export interface FieldWrite {
  field: string;
  /** The `update()` argument's value. */
  value: string;
  /** The value uses `F`. */
  usesF: boolean;
}

const ARITHMETIC = new Set(["+=", "-=", "*=", "/=", "//=", "%="]);

/** `obj.field` as the target of an assignment, or null. */
function assignedField(target: SyntaxNode | null, object: string): string | null {
  if (target?.type !== "attribute") return null;
  const of = target.childForFieldName("object");
  return of?.type === "identifier" && of.text === object ? target.childForFieldName("attribute")!.text : null;
}

/**
 * The last write to each field of `object` among `statements`, as an `update()` argument;
 * `F` is the name `F` has in this file. Null when a statement changes the object in a way an
 * update cannot repeat (a method call on it, `setattr`, an assignment inside a nested block).
 */
export function fieldWrites(statements: readonly SyntaxNode[], object: string, F: string): Map<string, FieldWrite> {
  const writes = new Map<string, FieldWrite>();
  for (const statement of statements) {
    const expr = statement.type === "expression_statement" ? statement.namedChildren[0] : null;
    if (expr?.type === "assignment") {
      const field = assignedField(expr.childForFieldName("left"), object);
      const right = expr.childForFieldName("right");
      if (!field || !right) continue;
      const self = `${object}.${field}`;
      // obj.n = obj.n - x: the field's own value on the left of +/-.
      if (right.type === "binary_operator" && right.childForFieldName("left")?.text === self && !mentionsField(right.childForFieldName("right")!, object, field)) {
        const op = right.children.find((c) => !c.isNamed)?.type ?? "+";
        writes.set(field, { field, value: `${F}("${field}") ${op} ${right.childForFieldName("right")!.text}`, usesF: true });
      } else {
        writes.set(field, { field, value: self, usesF: false });
      }
    } else if (expr?.type === "augmented_assignment") {
      const field = assignedField(expr.childForFieldName("left"), object);
      const op = expr.children.find((c) => !c.isNamed && ARITHMETIC.has(c.type))?.type;
      const right = expr.childForFieldName("right");
      if (!field || !right) continue;
      if (op && !mentionsField(right, object, field)) writes.set(field, { field, value: `${F}("${field}") ${op.slice(0, -1)} ${right.text}`, usesF: true });
      else writes.set(field, { field, value: `${object}.${field}`, usesF: false });
    }
  }
  return writes;
}

function mentionsField(node: SyntaxNode, object: string, field: string): boolean {
  return walk(node).some((n) => n.type === "attribute" && n.text === `${object}.${field}`);
}

/** Is `node` a statement that changes `object` other than by assigning its fields (`obj.items.add()`, `setattr(obj, …)`)? */
export function changesObjectOtherwise(node: SyntaxNode, object: string): boolean {
  for (const n of walk(node)) {
    if (n.type !== "call") continue;
    const fn = n.childForFieldName("function")!;
    if (fn.type === "identifier" && fn.text === "setattr" && n.childForFieldName("arguments")?.namedChildren[0]?.text === object) return true;
  }
  return false;
}
