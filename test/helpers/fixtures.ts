/** The fixture harness: `# expect: STC101` markers against what the scanner reports. */
import { readFileSync } from "node:fs";
import { extractFileFacts } from "../../src/extract/extractFileFacts.js";
import { buildProject } from "../../src/project/buildProject.js";
import { analyse } from "../../src/analysis/engine.js";
import type { Finding } from "../../src/core/finding.js";
import { RULES, findRule } from "../../src/rules/registry.js";

const MARKER = /#\s*expect:\s*([A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)\s*$/;

/** `line:RULE` keys for every marker in the source. */
export function expectedMarkers(source: string): Set<string> {
  const out = new Set<string>();
  source.split(/\r?\n/).forEach((text, index) => {
    const match = MARKER.exec(text);
    if (match) for (const code of match[1]!.split(",")) out.add(`${index + 1}:${code.trim()}`);
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
export async function scanSources(sources: Record<string, string>): Promise<Finding[]> {
  const facts = [];
  for (const [path, source] of Object.entries(sources)) facts.push(await extractFileFacts(path, source));
  return analyse(buildProject(facts), { rules: RULES, findRule, includeNonRequest: false });
}

/** Missing and unexpected `line:RULE` keys for one file scanned alone; empty when they agree. */
export async function fixtureMismatches(path: string, name: string): Promise<string[]> {
  const source = readFileSync(path, "utf8");
  const expected = expectedMarkers(source);
  const findings = await scanSources({ [name]: source });
  return markerDiff(expected, new Set(findings.map((f) => `${f.line}:${f.rule}`)), showMarker(source));
}
