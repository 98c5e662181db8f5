/** Unified diffs of fixed files (`--diff`), as `diff -u` and Ruff print them: three lines of context. */

const CONTEXT = 3;

type Op = { kind: "same" | "del" | "add"; line: string };

/** Splits text into lines, each with its line ending, so that a missing final newline shows. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Myers' O(ND) shortest edit script over lines. */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[max + k - 1]! < v[max + k + 1]!) ? v[max + k + 1]! : v[max + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[max + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  trace.push(v.slice());
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 2; d >= 0 && (x > 0 || y > 0); d--) {
    const prev = trace[d]!;
    const k = x - y;
    const down = k === -d || (k !== d && prev[max + k - 1]! < prev[max + k + 1]!);
    const prevK = down ? k + 1 : k - 1;
    const prevX = prev[max + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ kind: "same", line: a[--x]! }) && y--;
    if (d > 0) {
      if (down) ops.push({ kind: "add", line: b[--y]! });
      else ops.push({ kind: "del", line: a[--x]! });
    }
  }
  while (x > 0 && y > 0) ops.push({ kind: "same", line: a[--x]! }) && y--;
  return ops.reverse();
}

/** A unified diff of one file; empty when the texts are equal. */
export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return "";
  const ops = editScript(linesOf(before), linesOf(after));
  // Line numbers (1-based) in the old and new text at each op.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let oldLine = 1;
  let newLine = 1;
  for (const op of ops) {
    oldAt.push(oldLine);
    newAt.push(newLine);
    if (op.kind !== "add") oldLine++;
    if (op.kind !== "del") newLine++;
  }
  const changes = ops.flatMap((op, i) => (op.kind === "same" ? [] : [i]));
  // Changes closer than twice the context share a hunk.
  const groups: number[][] = [];
  for (const i of changes) {
    const last = groups.at(-1);
    if (last && i - last.at(-1)! <= CONTEXT * 2 + 1) last.push(i);
    else groups.push([i]);
  }
  const out: string[] = [`--- a/${path}\n`, `+++ b/${path}\n`];
  for (const group of groups) {
    const from = Math.max(0, group[0]! - CONTEXT);
    const to = Math.min(ops.length, group.at(-1)! + 1 + CONTEXT);
    const hunk = ops.slice(from, to);
    const oldCount = hunk.filter((o) => o.kind !== "add").length;
    const newCount = hunk.filter((o) => o.kind !== "del").length;
    out.push(`@@ -${range(oldAt[from]!, oldCount)} +${range(newAt[from]!, newCount)} @@\n`);
    for (const op of hunk) {
      const mark = op.kind === "same" ? " " : op.kind === "del" ? "-" : "+";
      out.push(mark + op.line + (op.line.endsWith("\n") ? "" : "\n\\ No newline at end of file\n"));
    }
  }
  return out.join("");
}

function range(start: number, count: number): string {
  const first = count === 0 ? start - 1 : start;
  return count === 1 ? `${first}` : `${first},${count}`;
}
