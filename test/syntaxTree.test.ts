import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeTree, getPythonParser } from "../src/parse/parser.js";
import { copyTree } from "../src/parse/syntaxTree.js";
import { cursorKind } from "../src/parse/treeCursor.js";

function pythonFiles(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) stack.push(path);
      else if (name.endsWith(".py")) out.push(path);
    }
  }
  return out;
}

/** The copy through the default (direct) cursor and through web-tree-sitter's public cursor. */
async function bothCopies(text: string): Promise<[string, string]> {
  const parser = await getPythonParser();
  const tree = parser.parse(text)!;
  try {
    return [describeTree(copyTree(tree, text)), describeTree(copyTree(tree, text, { publicCursor: true }))];
  } finally {
    tree.delete();
  }
}

describe("the syntax tree copy", () => {
  it("walks with the direct cursor, which the parser's self-check enabled", async () => {
    await getPythonParser();
    expect(cursorKind()).toBe("direct");
  });

  it("copies every fixture and example file exactly as the public cursor does", async () => {
    const files = [...pythonFiles("test/fixtures"), ...pythonFiles("examples")];
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const [direct, viaPublic] = await bothCopies(readFileSync(file, "utf8"));
      expect(direct, file).toBe(viaPublic);
    }
  });

  it.each([
    ["deep nesting that grows the cursor's stack", `x = ${"(".repeat(3000)}1${")".repeat(3000)}\n`],
    ["unclosed brackets and missing tokens", "def f(:\n    return [1, 2\nclass C(\n    x = {\n"],
    ["characters outside the BMP before and after nodes", "s = '😀😀'\ndef g(request):  # ✓ 😀\n    return request.user.is_staff and 'é' not in s\n"],
    ["CRLF, tabs and a BOM", "\ufeffimport os\r\nif True:\r\n\tx = 1\r\n"],
    ["Python 2 syntax", "print 'hello'\nexec code in ns\n"],
  ])("copies %s exactly as the public cursor does", async (_what, text) => {
    const [direct, viaPublic] = await bothCopies(text);
    expect(direct).toBe(viaPublic);
    expect(direct.split("\n").length).toBeGreaterThan(3);
  });

  it("keeps spans in UTF-16 code units, as `Node.text` needs", async () => {
    const parser = await getPythonParser();
    const text = "a = '😀'\nb = c\n";
    const tree = parser.parse(text)!;
    const root = copyTree(tree, text);
    tree.delete();
    const second = root.namedChildren[1]!;
    expect(second.text).toBe("b = c");
    expect(second.startPosition).toEqual({ row: 1, column: 0 });
  });
});
