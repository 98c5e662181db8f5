import { createRequire } from "node:module";
import { Language, Parser } from "web-tree-sitter";
import { copyTree, type SyntaxNode } from "./syntaxTree.js";
import { disableDirectCursor, enableDirectCursor } from "./treeCursor.js";

export type { SyntaxNode };

const require = createRequire(import.meta.url);
let pythonParser: Promise<Parser> | undefined;

/**
 * A sample for the direct cursor's self-check: fields, tokens with children (`not in`), an
 * error and a MISSING token, and nesting deep enough to grow the cursor's stack.
 */
const CURSOR_SAMPLE = `@decorator(arg=1)
def view(request, *args, pk=None):
    if request.user.is_staff and pk not in {1: [x for x in (1, 2) if not x]}:
        return obj.objects.select_for_update().filter(pk=pk).update(**{"a": ((((((((((1))))))))))})
    else:
        value = call(
print("unclosed"
`;

/** One tree-sitter parser for Python, created on first use and reused for every file. */
export function getPythonParser(): Promise<Parser> {
  pythonParser ??= (async () => {
    // Emscripten makes the object given to `init` the module itself, exports and heap included.
    const module: Record<string, unknown> = {};
    await Parser.init(module);
    const wasmPath = require.resolve("tree-sitter-python/tree-sitter-python.wasm");
    const language = await Language.load(wasmPath);
    const parser = new Parser();
    parser.setLanguage(language);
    if (enableDirectCursor(module) && !directCursorAgrees(parser)) disableDirectCursor();
    return parser;
  })();
  return pythonParser;
}

/** Whether the direct cursor copies the sample exactly as web-tree-sitter's public cursor does. */
function directCursorAgrees(parser: Parser): boolean {
  const tree = parser.parse(CURSOR_SAMPLE);
  if (!tree) return false;
  try {
    return describeTree(copyTree(tree, CURSOR_SAMPLE)) === describeTree(copyTree(tree, CURSOR_SAMPLE, { publicCursor: true }));
  } catch {
    return false;
  } finally {
    tree.delete();
  }
}

/** Every node's type, span, field, and error flags, in walk order. */
export function describeTree(root: SyntaxNode): string {
  const out: string[] = [];
  const stack: SyntaxNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const tokens = node.children.filter((c) => !c.isNamed).map((c) => c.type).join(" ");
    out.push(`${node.type} ${node.startIndex}-${node.endIndex} ${node.fieldName ?? "-"} ${node.isMissing ? "M" : ""}${node.hasError ? "E" : ""} [${tokens}]`);
    for (let i = node.namedChildren.length - 1; i >= 0; i--) stack.push(node.namedChildren[i]!);
  }
  return out.join("\n");
}

/** Parses Python source and returns the root of its plain-JavaScript copy (the wasm tree is freed). */
export async function parsePython(source: string): Promise<SyntaxNode> {
  const parser = await getPythonParser();
  const tree = parser.parse(source);
  if (!tree) throw new Error("the parser returned no tree");
  try {
    return copyTree(tree, source);
  } finally {
    tree.delete();
  }
}
