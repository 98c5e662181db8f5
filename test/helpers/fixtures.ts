/**
 * The fixture harness: `# expect: STC101` markers against what the scanner reports, and
 * `# expect-strict: STC101` for races reported only with --strict (only privileged actors can
 * cause them and the window is narrow).
 */
import { readFileSync } from "node:fs";
import { extractFileFacts } from "../../src/extract/extractFileFacts.js";
import { buildProject } from "../../src/project/buildProject.js";
import { analyse } from "../../src/analysis/engine.js";
import type { Finding } from "../../src/core/finding.js";
import { RULES, findRule } from "../../src/rules/registry.js";

/** One marker; a line may end with both (`# expect: STC102  # expect-strict: STC101`). */
const MARKER = /#\s*expect(-strict)?:\s*([A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)\s*(?=#|$)/g;

/** `line:RULE` keys for every marker in the source; with `strict`, the `# expect-strict:` ones too. */
export function expectedMarkers(source: string, strict = false): Set<string> {
  const out = new Set<string>();
  source.split(/\r?\n/).forEach((text, index) => {
    for (const match of text.matchAll(MARKER)) {
      if (strict || !match[1]) for (const code of match[2]!.split(",")) out.add(`${index + 1}:${code.trim()}`);
    }
  });
  return out;
}

/**
 * What the markers and the report disagree on, one line each, `missing` then `unexpected`;
 * empty when they agree. `show` turns a key into something a reader can find.
 */
export function markerDiff(expected: ReadonlySet<string>, reported: ReadonlySet<string>, show: (key: string) => string = (key) => key): string[] {
  return [
    ...[...expected].filter((k) => !reported.has(k)).map((k) => `missing    ${show(k)}`),
    ...[...reported].filter((k) => !expected.has(k)).map((k) => `unexpected ${show(k)}`),
  ];
}

/** Shows a `line:RULE` key of a source with the line's text. */
export function showMarker(source: string): (key: string) => string {
  const lines = source.split(/\r?\n/);
  return (key) => `${key.split(":")[1]} line ${key.split(":")[0]}: ${lines[Number(key.split(":")[0]) - 1]?.trim()}`;
}

/** Scans Python sources as one project (each named by its path) and returns the findings. */
export async function scanSources(sources: Record<string, string>, options: { strict?: boolean } = {}): Promise<Finding[]> {
  const facts = [];
  for (const [path, source] of Object.entries(sources)) facts.push(await extractFileFacts(path, source));
  return analyse(buildProject(facts), { rules: RULES, findRule, includeNonRequest: false, strict: options.strict ?? false });
}

/**
 * Missing and unexpected `line:RULE` keys for one file scanned alone, by default and then with
 * --strict (each line says which); empty when both agree.
 */
export async function fixtureMismatches(path: string, name: string): Promise<string[]> {
  const source = readFileSync(path, "utf8");
  const out: string[] = [];
  for (const strict of [false, true]) {
    const findings = await scanSources({ [name]: source }, { strict });
    const diff = markerDiff(expectedMarkers(source, strict), new Set(findings.map((f) => `${f.line}:${f.rule}`)), showMarker(source));
    out.push(...diff.map((line) => (strict ? `--strict ${line}` : line)));
  }
  return out;
}
