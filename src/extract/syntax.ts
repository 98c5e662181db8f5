/** Small, allocation-light helpers over tree-sitter nodes. None of them recurse. */
import type { SyntaxNode } from "../parse/parser.js";
import type { SourceSite, Span } from "./facts.js";

export function field(node: SyntaxNode, name: string): SyntaxNode | null {
  return node.childForFieldName(name);
}

export function span(node: SyntaxNode): Span {
  return [node.startIndex, node.endIndex];
}

/** Strips `await`, parentheses and `sync_to_async`-style wrappers that do not change a value. */
export function unwrap(node: SyntaxNode): SyntaxNode {
  let current = node;
  for (;;) {
    if (current.type === "await" || current.type === "parenthesized_expression") {
      const inner = current.namedChildren[0];
      if (!inner) return current;
      current = inner;
      continue;
    }
    return current;
  }
}

/** `a.b.c` for identifiers and attribute chains; null for anything else (calls, subscripts). */
export function dottedName(node: SyntaxNode): string | null {
  const parts: string[] = [];
  let current: SyntaxNode | null = node;
  while (current) {
    if (current.type === "identifier") {
      parts.push(current.text);
      return parts.reverse().join(".");
    }
    if (current.type !== "attribute") return null;
    const attr = field(current, "attribute");
    if (!attr) return null;
    parts.push(attr.text);
    current = field(current, "object");
  }
  return null;
}

/** The identifier an attribute chain starts from (`inv` for `inv.owner.id`). */
export function rootIdentifier(node: SyntaxNode): SyntaxNode | null {
  let current: SyntaxNode | null = node;
  while (current && current.type === "attribute") current = field(current, "object");
  return current && current.type === "identifier" ? current : null;
}

/** The Python string literal's content, or null if the node is not a plain string. */
export function stringValue(node: SyntaxNode): string | null {
  if (node.type !== "string") return null;
  let out = "";
  for (const child of node.namedChildren) {
    if (child.type === "string_content") out += child.text;
    else if (child.type === "interpolation") return null;
  }
  return out;
}

/** Every string literal found directly in a list/tuple/set literal (one level). */
export function stringList(node: SyntaxNode): string[] {
  if (node.type === "string") {
    const value = stringValue(node);
    return value === null ? [] : [value];
  }
  const out: string[] = [];
  for (const child of node.namedChildren) {
    const value = stringValue(child);
    if (value !== null) out.push(value);
  }
  return out;
}

export function keywordArguments(args: SyntaxNode | null): Map<string, SyntaxNode> {
  const out = new Map<string, SyntaxNode>();
  if (!args) return out;
  for (const child of args.namedChildren) {
    if (child.type !== "keyword_argument") continue;
    const name = field(child, "name");
    const value = field(child, "value");
    if (name && value) out.set(name.text, value);
  }
  return out;
}

export function positionalArguments(args: SyntaxNode | null): SyntaxNode[] {
  if (!args) return [];
  return args.namedChildren.filter(
    (c) => c.type !== "keyword_argument" && c.type !== "comment" && c.type !== "dictionary_splat" && c.type !== "list_splat",
  );
}

/** Source lines of a file, to quote the line of an event. */
export class SourceLines {
  private readonly lines: string[];
  constructor(readonly text: string) {
    this.lines = text.split(/\r\n|\r|\n/);
  }
  get count(): number {
    return this.lines.length;
  }
  site(node: SyntaxNode): SourceSite {
    const line = node.startPosition.row + 1;
    const raw = this.lines[line - 1] ?? "";
    const text = raw.trim();
    return {
      line,
      column: node.startPosition.column + 1,
      endLine: node.endPosition.row + 1,
      text: text.length > 200 ? `${text.slice(0, 197)}...` : text,
    };
  }
}

/** Does the block end by leaving it (return, raise, continue, break)? */
export function blockExits(block: SyntaxNode | null): boolean {
  if (!block) return false;
  const statements = block.namedChildren.filter((c) => c.type !== "comment");
  const last = statements[statements.length - 1];
  if (!last) return false;
  return (
    last.type === "return_statement" ||
    last.type === "raise_statement" ||
    last.type === "continue_statement" ||
    last.type === "break_statement"
  );
}

/**
 * Where the code dominated by a statement ends: the end of its block, extended through enclosing
 * `with` blocks and `try` bodies (they run straight through), but not through branches or loops.
 */
export function dominatedEnd(statement: SyntaxNode): number {
  let current = statement;
  let end = statement.endIndex;
  for (;;) {
    const block = current.parent;
    if (!block || block.type !== "block") return end;
    end = block.endIndex;
    const owner = block.parent;
    if (!owner) return end;
    const isTryBody = owner.type === "try_statement" && field(owner, "body") === block;
    if (owner.type === "with_statement" || isTryBody) {
      current = owner;
      continue;
    }
    return end;
  }
}
