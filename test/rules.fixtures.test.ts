import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureMismatches } from "./helpers/fixtures.js";

const root = join(import.meta.dirname, "fixtures", "rules");

describe.each(readdirSync(root).sort())("rule fixtures %s", (code) => {
  const files = readdirSync(join(root, code)).filter((f) => f.endsWith(".py")).sort();
  it.each(files)("%s reports exactly its # expect markers", async (file) => {
    // Scanned under a request-path name: the fixture directory itself would count as tests.
    const mismatches = await fixtureMismatches(join(root, code, file), `app/${code}/${file}`);
    expect(mismatches, mismatches.join("\n")).toEqual([]);
  });
});
