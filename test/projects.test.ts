import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scan } from "../src/run/scan.js";
import { expectedMarkers, markerDiff } from "./helpers/fixtures.js";

const root = join(import.meta.dirname, "fixtures", "projects");

/** Every `# expect:` marker (with `strict`, `# expect-strict:` too) of every .py file in a mini-project, as `file:line:RULE`. */
function projectMarkers(dir: string, strict: boolean): Set<string> {
  const out = new Set<string>();
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".py")) {
        for (const key of expectedMarkers(readFileSync(join(dir, rel), "utf8"), strict)) out.add(`${rel}:${key}`);
      }
    }
  };
  walk("");
  return out;
}

describe.each(readdirSync(root).sort())("project fixture %s", (name) => {
  it.each([false, true])("reports exactly its # expect markers across files (strict: %s)", async (strict) => {
    const dir = join(root, name);
    const result = await scan({ paths: [dir], strict });
    const mismatches = markerDiff(projectMarkers(dir, strict), new Set(result.findings.map((f) => `${f.file}:${f.line}:${f.rule}`)));
    expect(mismatches, mismatches.join("\n")).toEqual([]);
    expect(result.errors).toEqual([]);
  });
});

describe("project fixture atomic_requests, in words", () => {
  it("names the request's transaction, not the view's def line, as the transaction that takes no lock", async () => {
    const result = await scan({ paths: [join(root, "atomic_requests")] });
    const redeem = result.findings.find((f) => f.function === "redeem" && f.rule === "STC102")!;
    expect(redeem.message).toContain("The request's transaction (ATOMIC_REQUESTS in the settings) does not lock the row by itself.");
    expect(redeem.message).not.toMatch(/atomic\(\) on line/);
  });
});
