/**
 * A plain-JavaScript copy of a tree-sitter syntax tree, built in one cursor walk.
 *
 * Every property read on a web-tree-sitter `Node` crosses into wasm and allocates: the extractors
 * read `type`, `text` and children hundreds of times per function, and that marshalling cost
 * three times the parse itself. The cursor walk copies each node once (type id, span, field id),
 * the wasm tree is freed at once, and the extractors then read ordinary objects. The class keeps
 * the subset of the `Node` API the extractors use, with the same meaning.
 *
 * Anonymous tokens (punctuation, keywords, operators) are kept as one shared `Token` per type:
 * the extractors only ever ask what they are, and copying their spans and fields would cost three
 * more wasm calls for a third of all nodes.
 */
import type { Language, Tree } from "web-tree-sitter";
import { openCursor, openPublicCursor } from "./treeCursor.js";

export interface Point {
  row: number;
  column: number;
}

/** An anonymous token (`(`, `def`, `==`): its type only, shared by every occurrence. */
export interface Token {
  readonly type: string;
  readonly isNamed: false;
}

export type Child = SyntaxNode | Token;

const NO_CHILDREN: readonly Child[] = Object.freeze([]);
const NO_NAMED: readonly SyntaxNode[] = Object.freeze([]);

/** Text and line starts shared by the nodes of one file. */
class SourceText {
  private lineStarts: number[] | null = null;
  constructor(readonly text: string) {}

  /** Row and column of a UTF-16 offset; rows count `\n` only, as tree-sitter does. */
  point(index: number): Point {
    const starts = (this.lineStarts ??= lineStartsOf(this.text));
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= index) low = mid;
      else high = mid - 1;
    }
    return { row: low, column: index - starts[low]! };
  }
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

export class SyntaxNode {
  /** Named nodes and anonymous tokens, in source order. */
  children: readonly Child[] = NO_CHILDREN;
  /** Named children only; most extractor walks read these. */
  namedChildren: readonly SyntaxNode[] = NO_NAMED;
  /** Set on the node and its ancestors when the subtree holds an ERROR or MISSING node. */
  hasError = false;

  constructor(
    private readonly source: SourceText,
    /** Unique within the tree. */
    readonly id: number,
    readonly type: string,
    readonly isMissing: boolean,
    readonly startIndex: number,
    readonly endIndex: number,
    /** The field this node fills in its parent (`body`, `function`), if any. */
    readonly fieldName: string | null,
    readonly parent: SyntaxNode | null,
  ) {}

  get isNamed(): true {
    return true;
  }

  get text(): string {
    return this.source.text.slice(this.startIndex, this.endIndex);
  }

  get startPosition(): Point {
    return this.source.point(this.startIndex);
  }

  get endPosition(): Point {
    return this.source.point(this.endIndex);
  }

  /** The first named child in the field; tokens in a field (an `operator`) are not returned. */
  childForFieldName(name: string): SyntaxNode | null {
    for (const child of this.namedChildren) if (child.fieldName === name) return child;
    return null;
  }

  childrenForFieldName(name: string): SyntaxNode[] {
    return this.namedChildren.filter((c) => c.fieldName === name);
  }

  /** Named descendants of the given type in source order, found without recursion. */
  descendantsOfType(type: string): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    const stack: SyntaxNode[] = [this];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node !== this && node.type === type) out.push(node);
      for (let i = node.namedChildren.length - 1; i >= 0; i--) stack.push(node.namedChildren[i]!);
    }
    return out;
  }
}

interface LanguageTables {
  types: string[];
  /** The shared token of each anonymous type; null for named types. */
  tokens: (Token | null)[];
  fields: (string | null)[];
}

const tablesByLanguage = new WeakMap<Language, LanguageTables>();

/** Type names, namedness and field names by id, read from the grammar once. */
function tablesOf(language: Language): LanguageTables {
  let tables = tablesByLanguage.get(language);
  if (!tables) {
    const types: string[] = [];
    const tokens: (Token | null)[] = [];
    for (let id = 0; id < language.nodeTypeCount; id++) {
      const type = language.nodeTypeForId(id) ?? "";
      types.push(type);
      tokens.push(language.nodeTypeIsNamed(id) ? null : Object.freeze({ type, isNamed: false as const }));
    }
    const fields: (string | null)[] = [null];
    for (let id = 1; id <= language.fieldCount; id++) fields.push(language.fieldNameForId(id));
    tables = { types, tokens, fields };
    tablesByLanguage.set(language, tables);
  }
  return tables;
}

/**
 * Copies a tree into `SyntaxNode`s and returns the root. The walk is iterative, so nesting depth
 * is bounded by memory, not by the JavaScript stack. The caller still owns and deletes `tree`.
 * `publicCursor` walks with web-tree-sitter's own cursor: for the self-check and tests.
 */
export function copyTree(tree: Tree, text: string, options: { publicCursor?: boolean } = {}): SyntaxNode {
  const { types, tokens, fields } = tablesOf(tree.language);
  const source = new SourceText(text);
  // MISSING nodes only occur in trees with errors; asking every node would cost a wasm call each.
  // Asked before the cursor is opened: the direct cursor owns the wasm transfer buffer until closed.
  const mayMiss = tree.rootNode.hasError;
  const walk = options.publicCursor ? openPublicCursor(tree) : openCursor(tree);
  let nextId = 0;
  const markError = (from: SyntaxNode) => {
    for (let n: SyntaxNode | null = from; n && !n.hasError; n = n.parent) n.hasError = true;
  };
  /** Copies the cursor's node into `parent`; returns it when it is a named node that may have children. */
  const copy = (parent: SyntaxNode | null): SyntaxNode | null => {
    const typeId = walk.typeId();
    const token = tokens[typeId];
    if (token) {
      // A missing token (an unclosed bracket) still marks its ancestors as broken.
      if (parent && mayMiss && walk.isMissing()) markError(parent);
      if (parent) addChild(parent, token);
      return null;
    }
    // The ERROR symbol (65535) is outside the grammar's table.
    const type = typeId < types.length ? types[typeId]! : "ERROR";
    const missing = mayMiss && walk.isMissing();
    const node = new SyntaxNode(source, nextId++, type, missing, walk.startIndex(), walk.endIndex(), fields[walk.fieldId()] ?? null, parent);
    if (missing || type === "ERROR") markError(node);
    if (parent) {
      addChild(parent, node);
      if (parent.namedChildren === NO_NAMED) parent.namedChildren = [node];
      else (parent.namedChildren as SyntaxNode[]).push(node);
    }
    return node;
  };
  try {
    const root = copy(null)!;
    // The cursor sits on `current` (a named node) or, when `atToken`, on a token child of it.
    // Tokens are not descended into: the only tokens with children are `is not` and `not in`.
    let current = root;
    let atToken = false;
    for (;;) {
      if (!atToken && walk.gotoFirstChild()) {
        const child = copy(current);
        atToken = child === null;
        if (child) current = child;
        continue;
      }
      for (;;) {
        const parent = atToken ? current : current.parent;
        if (parent && walk.gotoNextSibling()) {
          const sibling = copy(parent);
          atToken = sibling === null;
          current = sibling ?? parent;
          break;
        }
        if (!parent || !walk.gotoParent()) return root;
        current = parent;
        atToken = false;
      }
    }
  } finally {
    walk.close();
  }
}

function addChild(parent: SyntaxNode, child: Child): void {
  if (parent.children === NO_CHILDREN) parent.children = [child];
  else (parent.children as Child[]).push(child);
}
