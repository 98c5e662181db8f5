/**
 * One Python file as the fixers see it: its text, a fresh syntax tree, line starts, its line
 * ending, and the lookups every fixer needs (the function a finding is in, the statement on a
 * line, the block two statements share). The scanner keeps only facts, so a fix re-parses.
 */
import { parsePython, type SyntaxNode } from "../parse/parser.js";

export interface PySource {
  /** Relative to the scan root, forward slashes. */
  path: string;
  text: string;
  root: SyntaxNode;
  /** Offset of the first character of each line; line 1 is `lineStarts[0]`. */
  lineStarts: number[];
  /** The file's line ending, used for every line a fix inserts. */
  eol: string;
}

/** Statements that hold blocks of other statements. */
const COMPOUND = new Set([
  "if_statement", "for_statement", "while_statement", "try_statement", "with_statement",
  "function_definition", "class_definition", "decorated_definition", "match_statement",
]);

export async function readPySource(path: string, text: string): Promise<PySource> {
  const root = await parsePython(text);
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const first = text.indexOf("\n");
  const eol = first > 0 && text[first - 1] === "\r" ? "\r\n" : "\n";
  return { path, text, root, lineStarts, eol };
}

/**
 * Why the file cannot be fixed at all, or null: a syntax error anywhere (a fix must leave valid
 * Python, and cannot tell that from a file that was not), or lone `\r` line ends, which Python
 * reads as lines and the tree does not.
 */
export function unfixableSource(source: PySource): string | null {
  if (source.root.hasError) return "the file has syntax errors";
  if (/\r(?!\n)/.test(source.text)) return "the file ends lines with a lone carriage return";
  return null;
}

/** 1-based line of an offset. */
export function lineOf(source: PySource, offset: number): number {
  let low = 0;
  let high = source.lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (source.lineStarts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}

export function lineStart(source: PySource, line: number): number {
  return source.lineStarts[line - 1] ?? source.text.length;
}

/** Offset of the end of a line's content, before its line ending. */
export function lineEnd(source: PySource, line: number): number {
  const next = source.lineStarts[line];
  if (next === undefined) return source.text.length;
  return source.text[next - 2] === "\r" ? next - 2 : next - 1;
}

export function lineText(source: PySource, line: number): string {
  return source.text.slice(lineStart(source, line), lineEnd(source, line));
}

export function indentOf(source: PySource, line: number): string {
  return /^[ \t]*/.exec(lineText(source, line))![0];
}

export function startLine(node: SyntaxNode): number {
  return node.startPosition.row + 1;
}

export function endLine(node: SyntaxNode): number {
  return node.endPosition.row + 1;
}

export function isStatement(node: SyntaxNode): boolean {
  return node.type !== "comment" && (node.type.endsWith("_statement") || COMPOUND.has(node.type));
}

/** The qualified name facts give a function: enclosing classes and functions, dot-joined. */
export function qualifiedName(fn: SyntaxNode): string {
  const parts: string[] = [];
  for (let n: SyntaxNode | null = fn; n; n = n.parent) {
    if (n.type === "function_definition" || n.type === "class_definition") parts.unshift(n.childForFieldName("name")?.text ?? "?");
  }
  return parts.join(".");
}

/** The function named `name` (as in findings) whose lines include `line`; the innermost when nested. */
export function findFunction(source: PySource, name: string, line: number): SyntaxNode | null {
  let best: SyntaxNode | null = null;
  for (const fn of source.root.descendantsOfType("function_definition")) {
    if (startLine(fn) > line || endLine(fn) < line || qualifiedName(fn) !== name) continue;
    if (!best || fn.startIndex > best.startIndex) best = fn;
  }
  return best;
}

/** The blocks directly inside a compound statement (body, branches, handlers), in order. */
function childBlocks(statement: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const stack = [...statement.namedChildren].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === "block") out.push(node);
    else if (/_clause$|^case_clause$|^decorated_definition$|^function_definition$|^class_definition$/.test(node.type)) stack.push(...[...node.namedChildren].reverse());
  }
  return out;
}

/** One step of a path into nested blocks: the block, and the statement of it that holds the line. */
export interface BlockStep {
  block: SyntaxNode;
  statement: SyntaxNode;
}

/**
 * From `block` down, the statements that hold `line`: the statement of `block` spanning it, the
 * statement of that statement's inner block spanning it, and so on. A header line (`if x:`)
 * ends the path at its compound statement.
 */
export function pathToLine(block: SyntaxNode, line: number): BlockStep[] {
  const path: BlockStep[] = [];
  let current: SyntaxNode | null = block;
  while (current) {
    const statement: SyntaxNode | undefined = current.namedChildren.find((s) => isStatement(s) && startLine(s) <= line && endLine(s) >= line);
    if (!statement) break;
    path.push({ block: current, statement });
    current = COMPOUND.has(statement.type) ? childBlocks(statement).find((b) => startLine(b) <= line && endLine(b) >= line && b.namedChildren.some((s) => isStatement(s) && startLine(s) <= line && endLine(s) >= line)) ?? null : null;
  }
  return path;
}

/** The innermost statement holding `line` inside `block`. */
export function statementAt(block: SyntaxNode, line: number): SyntaxNode | null {
  return pathToLine(block, line).at(-1)?.statement ?? null;
}

/** A run of sibling statements: the deepest block holding every line, and its first and last statement among them. */
export interface StatementRange {
  block: SyntaxNode;
  first: SyntaxNode;
  last: SyntaxNode;
}

/** The deepest block whose statements hold all of `lines`, and the statements of it that do. */
export function commonRange(body: SyntaxNode, lines: readonly number[]): StatementRange | null {
  const paths = lines.map((line) => pathToLine(body, line));
  if (paths.some((p) => p.length === 0)) return null;
  let depth = 0;
  while (paths.every((p) => p.length > depth + 1 && p[depth + 1]!.block === paths[0]![depth + 1]!.block)) depth++;
  const steps = paths.map((p) => p[depth]!);
  if (steps.some((s) => s.block !== steps[0]!.block)) return null;
  const sorted = steps.map((s) => s.statement).sort((a, b) => a.startIndex - b.startIndex);
  return { block: steps[0]!.block, first: sorted[0]!, last: sorted.at(-1)! };
}

/** Named descendants, the node included, in source order. */
export function walk(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    for (let i = n.namedChildren.length - 1; i >= 0; i--) stack.push(n.namedChildren[i]!);
  }
  return out;
}

/** The identifiers a function binds or reads, parameters included: names a fix must not reuse. */
export function namesIn(node: SyntaxNode): Set<string> {
  return new Set(walk(node).filter((n) => n.type === "identifier").map((n) => n.text));
}

/** A name not used in `fn` nor at module level: `preferred`, else `preferred_2`, `preferred_3`… */
export function freshName(source: PySource, fn: SyntaxNode, preferred: string): string {
  const taken = namesIn(fn);
  for (const n of source.root.namedChildren) if (n.type !== "function_definition" && n.type !== "class_definition" && n.type !== "decorated_definition") for (const name of namesIn(n)) taken.add(name);
  if (!taken.has(preferred)) return preferred;
  for (let i = 2; ; i++) if (!taken.has(`${preferred}_${i}`)) return `${preferred}_${i}`;
}

/** The indentation one level adds in this function: its body's indentation less its own. */
export function indentUnit(source: PySource, fn: SyntaxNode): string | null {
  const body = fn.childForFieldName("body");
  const first = body?.namedChildren.find(isStatement);
  if (!first || startLine(first) === startLine(fn)) return null;
  const outer = indentOf(source, startLine(fn.parent?.type === "decorated_definition" ? fn.parent : fn));
  const inner = indentOf(source, startLine(first));
  if (!inner.startsWith(outer) || inner.length === outer.length) return null;
  return inner.slice(outer.length);
}

/** Lines (1-based) that begin inside a multi-line string: re-indenting them would change the string. */
export function linesInsideStrings(node: SyntaxNode): Set<number> {
  const out = new Set<number>();
  for (const s of walk(node)) {
    if (s.type !== "string") continue;
    for (let line = startLine(s) + 1; line <= endLine(s); line++) out.add(line);
  }
  return out;
}

/** Is the node's first line free of other code before it, and its last line free of other code after it (comments aside)? */
export function ownsItsLines(source: PySource, first: SyntaxNode, last: SyntaxNode = first): boolean {
  const before = source.text.slice(lineStart(source, startLine(first)), first.startIndex);
  const after = source.text.slice(last.endIndex, lineEnd(source, endLine(last)));
  return /^[ \t]*$/.test(before) && /^[ \t]*(#.*)?$/.test(after);
}
