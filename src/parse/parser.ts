import { createRequire } from "node:module";
import { Language, Parser } from "web-tree-sitter";
import { copyTree, type SyntaxNode } from "./syntaxTree.js";

export type { SyntaxNode };

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
