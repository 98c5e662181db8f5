/**
 * The layout DESIGN.md §3 and §5 describe, checked on the sources: stages import downward only,
 * no import cycles (type imports included), rules see extraction only through the facts
 * contract, rules/ holds only rules, and no source file grows past 700 lines.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "src");

/** Each stage and what it may import (itself always). Files at the top of src/ count as `core` (version, build root) or `api` (index). */
const LAYERS: Record<string, readonly string[]> = {
  core: [],
  discover: ["core"],
  parse: ["core"],
  extract: ["core", "parse"],
  project: ["core", "extract"],
  analysis: ["core", "extract", "project"],
  rules: ["core", "extract", "project", "analysis"],
  config: ["core", "rules", "discover"],
  cache: ["core", "discover", "extract"],
  report: ["core", "analysis", "rules", "discover"],
  run: ["core", "discover", "parse", "extract", "project", "analysis", "rules", "config", "cache", "report"],
  probe: ["core", "report"],
  fix: ["core", "discover", "parse", "extract", "project", "analysis", "rules", "report", "run"],
  server: ["core", "discover", "config", "cache", "report", "rules", "run", "probe", "fix"],
  cli: ["core", "discover", "config", "cache", "report", "rules", "run", "probe", "fix", "server"],
  api: ["core", "extract", "analysis", "rules", "config", "report", "run"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : []);
}

function stageOf(file: string): string {
  const rel = relative(SRC, file).split("/");
  if (rel.length === 1) return rel[0] === "index.ts" ? "api" : "core";
  return rel[0]!;
}

/** Relative imports and re-exports of a file (static, dynamic and type-only), resolved to source files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"|\bimport\(\s*"(\.[^"]+)"\s*\)/g)) {
    const spec = match[1] ?? match[2]!;
    out.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
  }
  return out;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const name = (f: string) => relative(SRC, f);

describe("source layout", () => {
  it("imports downward only: each stage imports only the stages below it", () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = stageOf(file);
      expect(LAYERS[from], `${name(file)} is in no known stage`).toBeDefined();
      for (const target of imports) {
        const to = stageOf(target);
        if (to !== from && !LAYERS[from]!.includes(to)) upward.push(`${name(file)} (${from}) imports ${name(target)} (${to})`);
      }
    }
    expect(upward, upward.join("\n")).toEqual([]);
  });

  it("has no import cycles, type imports included", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, "visiting");
      path.push(file);
      for (const target of graph.get(file) ?? []) {
        if (!graph.has(target)) continue;
        if (state.get(target) === "visiting") cycles.push([...path.slice(path.indexOf(target)), target].map(name).join(" → "));
        else if (!state.has(target)) visit(target);
      }
      path.pop();
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles, cycles.join("\n")).toEqual([]);
  });

  it("resolves every relative import to a source file", () => {
    const broken = [...graph].flatMap(([file, imports]) => imports.filter((t) => !graph.has(t)).map((t) => `${name(file)} → ${relative(SRC, t)}`));
    expect(broken, broken.join("\n")).toEqual([]);
  });

  it("lets rules see extraction only through the facts contract", () => {
    const reaching = [...graph].filter(([file]) => stageOf(file) === "rules")
      .flatMap(([file, imports]) => imports.filter((t) => stageOf(t) === "extract" && name(t) !== "extract/facts.ts").map((t) => `${name(file)} → ${name(t)}`));
    expect(reaching, reaching.join("\n")).toEqual([]);
  });

  it("keeps only rule files and their registry in rules/", () => {
    const others = readdirSync(join(SRC, "rules")).filter((f) => f !== "registry.ts" && !/^STC\d{3}-[a-z-]+\.ts$/.test(f));
    expect(others).toEqual([]);
  });

  it("keeps every source file under 700 lines", () => {
    const long = files.map((f) => [name(f), readFileSync(f, "utf8").split("\n").length] as const).filter(([, n]) => n > 700);
    expect(long.map(([f, n]) => `${f}: ${n} lines`)).toEqual([]);
  });
});
