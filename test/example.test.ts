/** The bundled example project reports exactly what examples/billing/EXPECTED.json lists. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scan } from "../src/run/scan.js";

const dir = join(import.meta.dirname, "..", "examples", "billing");

interface Expected {
  file: string;
  line: number;
  rule: string;
  function: string;
}

const key = (f: Expected) => `${f.file}:${f.line} ${f.rule} in ${f.function}`;

describe("examples/billing", () => {
  it("reports exactly the findings in EXPECTED.json, with no errors", async () => {
    const expected = JSON.parse(readFileSync(join(dir, "EXPECTED.json"), "utf8")) as Expected[];
    const result = await scan({ paths: [dir] });
    const want = new Set(expected.map(key));
    const got = new Set(result.findings.map(key));
    const mismatches = [
      ...[...want].filter((k) => !got.has(k)).map((k) => `missing    ${k}`),
      ...[...got].filter((k) => !want.has(k)).map((k) => `unexpected ${k}`),
    ];
    expect(mismatches, mismatches.join("\n")).toEqual([]);
    // The sets can agree while a finding is reported twice.
    expect(result.findings.length, "some finding is reported more than once").toBe(want.size);
    expect(result.errors).toEqual([]);
  });
});
