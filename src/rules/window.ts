import { type FunctionModel, tallyWindow } from "./functionModel.js";

/**
 * What runs on the lines strictly between a check and its use ("requests.post() on line 78,
 * 2 queries, 1 call, a loop"), for code frames and SARIF thread flows. Null when no line lies
 * between them.
 */
export function windowBetween(model: FunctionModel, checkLine: number, useLine: number): string | null {
  if (useLine - checkLine < 2) return null;
  const inside = (line: number) => line > checkLine && line < useLine;
  const { slow, queries, calls } = tallyWindow(model.events.filter((e) => inside(e.site.line)));
  const loops = model.fn.regions.filter((r) => r.kind === "loop" && inside(r.site.line)).length;
  const parts = [...slow];
  if (queries > 0) parts.push(`${queries} ${queries === 1 ? "query" : "queries"}`);
  if (calls > 0) parts.push(`${calls} ${calls === 1 ? "call" : "calls"}`);
  if (loops > 0) parts.push(loops === 1 ? "a loop" : `${loops} loops`);
  return parts.length > 0 ? parts.join(", ") : "no query, call or I/O";
}
