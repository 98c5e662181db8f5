import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RULES } from "../src/rules/registry.js";
import { expectedMarkers, fixtureMismatches } from "./helpers/fixtures.js";

const root = join(import.meta.dirname, "fixtures", "rules");

it("has a fixture folder with at least one file for every rule, and none for a rule that does not exist", () => {
  const folders = readdirSync(root).sort();
  expect(folders).toEqual(RULES.map((r) => r.meta.code).sort());
  for (const folder of folders) expect(readdirSync(join(root, folder)).filter((f) => f.endsWith(".py")).length, folder).toBeGreaterThan(0);
});

it("reads # expect: markers by default, and # expect-strict: ones too under --strict, several to a line", () => {
  const source = "a()  # expect: STC102\nb()  # expect: STC102  # expect-strict: STC101\nc()  # expect-strict: STC104, STC101\nd()  # expects: STC101\n";
  expect([...expectedMarkers(source)].sort()).toEqual(["1:STC102", "2:STC102"]);
  expect([...expectedMarkers(source, true)].sort()).toEqual(["1:STC102", "2:STC101", "2:STC102", "3:STC101", "3:STC104"]);
});

describe.each(readdirSync(root).sort())("rule fixtures %s", (code) => {
  const files = readdirSync(join(root, code)).filter((f) => f.endsWith(".py")).sort();
  it.each(files)("%s reports exactly its # expect markers", async (file) => {
    // Scanned under a request-path name: the fixture directory itself would count as tests.
    const mismatches = await fixtureMismatches(join(root, code, file), `app/${code}/${file}`);
    expect(mismatches, mismatches.join("\n")).toEqual([]);
  });
});
