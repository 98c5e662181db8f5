/** Extracts one function's facts from a Python snippet, and reads lines back out of its offsets. */
import type { ExtractOptions } from "../../src/extract/extractFileFacts.js";
import { extractFileFacts } from "../../src/extract/extractFileFacts.js";
import type { FunctionEvent, FunctionFacts, Span, VariableDef } from "../../src/extract/facts.js";

/** A Python snippet from an indented template literal: the first line break and the common indentation removed. */
export function py(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, "");
  const indent = Math.min(...text.split("\n").filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return text.split("\n").map((l) => l.slice(indent)).join("\n");
}

export interface Extracted {
  fn: FunctionFacts;
  source: string;
  /** The events of one type, in source order. */
  events<T extends FunctionEvent["type"]>(type: T): Extract<FunctionEvent, { type: T }>[];
  /** The 1-based line holding `fragment` (its first occurrence). */
  line(fragment: string): number;
  /** Non-blank lines whose first character lies in one of the spans. */
  lines(spans: Span[]): number[];
  /** The latest definition of a variable. */
  def(name: string): VariableDef;
}

/** The facts of the function `name` (qualified: `View.post`) in `source`. */
export async function extract(source: string, name: string, options: ExtractOptions = {}, path = "app/views.py"): Promise<Extracted> {
  const facts = await extractFileFacts(path, source, options);
  const fn = facts.functions.find((f) => f.name === name);
  if (!fn) throw new Error(`no function ${name} in: ${facts.functions.map((f) => f.name).join(", ")}`);
  const starts: number[] = [];
  let offset = 0;
  for (const text of source.split("\n")) {
    starts.push(offset + (text.length - text.trimStart().length));
    offset += text.length + 1;
  }
  const blank = source.split("\n").map((l) => !l.trim());
  return {
    fn,
    source,
    events: (type) => fn.events.filter((e) => e.type === type) as never,
    line: (fragment) => {
      const index = source.split("\n").findIndex((l) => l.includes(fragment));
      if (index < 0) throw new Error(`no line with ${fragment}`);
      return index + 1;
    },
    lines: (spans) => starts.flatMap((start, i) => (!blank[i] && spans.some(([s, e]) => start >= s && start < e) ? [i + 1] : [])),
    def: (name) => {
      const found = fn.defs.filter((d) => d.name === name).pop();
      if (!found) throw new Error(`no definition of ${name}`);
      return found;
    },
  };
}
