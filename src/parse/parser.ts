import { createRequire } from "node:module";
import { Language, Parser, type Node, type Tree } from "web-tree-sitter";

export type { Node as SyntaxNode, Tree as SyntaxTree };

const require = createRequire(import.meta.url);
let pythonParser: Promise<Parser> | undefined;

/** One tree-sitter parser for Python, created on first use and reused for every file. */
export function getPythonParser(): Promise<Parser> {
  pythonParser ??= (async () => {
    await Parser.init();
    const wasmPath = require.resolve("tree-sitter-python/tree-sitter-python.wasm");
    const language = await Language.load(wasmPath);
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return pythonParser;
}

/**
 * Parses Python source. The caller owns the tree and must call `tree.delete()`;
 * trees live in wasm memory and are not garbage collected.
 */
export async function parsePython(source: string): Promise<Tree> {
  const parser = await getPythonParser();
  const tree = parser.parse(source);
  if (!tree) throw new Error("the parser returned no tree");
  return tree;
}
