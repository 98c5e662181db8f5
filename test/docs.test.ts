/**
 * Rule documentation: docs/rules/ is generated from each rule's metadata and committed, so it
 * must match that metadata; and each rule's own "Example" must be flagged, its "Use instead" not.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleDocFileName, ruleDocMarkdown } from "../src/report/ruleDocs.js";
import { RULES } from "../src/rules/registry.js";
import { expectedMarkers, markerDiff, scanSources, showMarker } from "./helpers/fixtures.js";

const docsDir = join(import.meta.dirname, "..", "docs", "rules");
const REGENERATE = "run `npm run docs:rules` and commit the result";
const rules = RULES.map((rule) => [rule.meta.code, rule] as const);

describe("docs/rules", () => {
  it.each(rules)("docs/rules for %s match the rule's metadata", (_code, rule) => {
    const file = ruleDocFileName(rule.meta);
    const path = join(docsDir, file);
    expect(existsSync(path), `docs/rules/${file} is missing: ${REGENERATE}`).toBe(true);
    expect(readFileSync(path, "utf8"), `docs/rules/${file} is stale: ${REGENERATE}`).toBe(ruleDocMarkdown(rule.meta));
  });

  it("holds no page for a rule that does not exist", () => {
    const wanted = new Set(RULES.map((r) => ruleDocFileName(r.meta)));
    const extra = readdirSync(docsDir).filter((f) => f.endsWith(".md") && !wanted.has(f));
    expect(extra, `no rule has these pages (renamed or removed rule?): delete them, then ${REGENERATE}`).toEqual([]);
  });
});

describe("rule documentation examples", () => {
  /** `line:RULE` keys reported for a snippet scanned alone, under a request-path name. */
  const reported = async (code: string, source: string) =>
    (await scanSources({ [`app/${code.toLowerCase()}_views.py`]: source })).map((f) => `${f.line}:${f.rule}`);

  it.each(rules)("the %s example reports exactly its # expect markers", async (code, rule) => {
    const { example } = rule.meta.docs;
    const expected = expectedMarkers(example);
    expect(expected.size, `the ${code} example has no \`# expect: ${code}\` marker`).toBeGreaterThan(0);
    expect([...expected].some((k) => k.endsWith(`:${code}`)), `the ${code} example marks no ${code} line`).toBe(true);
    const mismatches = markerDiff(expected, new Set(await reported(code, example)), showMarker(example));
    expect(mismatches, mismatches.join("\n")).toEqual([]);
  });

  it.each(rules)("the %s \"use instead\" code reports nothing", async (code, rule) => {
    const { useInstead } = rule.meta.docs;
    expect(expectedMarkers(useInstead).size, `the ${code} "use instead" code carries # expect markers`).toBe(0);
    const mismatches = markerDiff(new Set(), new Set(await reported(code, useInstead)), showMarker(useInstead));
    expect(mismatches, mismatches.join("\n")).toEqual([]);
  });
});
