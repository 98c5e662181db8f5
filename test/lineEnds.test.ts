/**
 * Python reads `\r\n` and a lone `\r` as line ends; so must the scanner: a file converted to
 * CR-only (old Mac) or CRLF line ends gives the findings of its LF original, on the same lines.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { extractFileFacts } from "../src/extract/extractFileFacts.js";
import { scanSources } from "./helpers/fixtures.js";
import { redeemView } from "./helpers/tempProject.js";
import { FIXTURE_RULES } from "./helpers/trees.js";

describe("line ends", () => {
  const fixtures = readdirSync(FIXTURE_RULES).flatMap((code) => readdirSync(join(FIXTURE_RULES, code)).filter((f) => f.endsWith(".py")).map((f) => `${code}/${f}`));
  const reported = async (source: string, name: string) => (await scanSources({ [name]: source })).map((f) => `${f.line}:${f.column}:${f.endLine} ${f.rule} ${f.fingerprint}`);

  it.each(fixtures)("%s: CR-only and CRLF files give the findings of the LF file", async (fixture) => {
    const lf = readFileSync(join(FIXTURE_RULES, fixture), "utf8");
    const name = `app/${fixture}`;
    const expected = await reported(lf, name);
    expect(await reported(lf.replace(/\n/g, "\r"), name)).toEqual(expected);
    expect(await reported(lf.replace(/\n/g, "\r\n"), name)).toEqual(expected);
  });

  it("a CR-only file parses without syntax errors and counts its lines", async () => {
    const lf = redeemView();
    const facts = await extractFileFacts("app/views.py", lf.replace(/\n/g, "\r"));
    expect(facts.problems).toEqual([]);
    expect(facts.lines).toBe((await extractFileFacts("app/views.py", lf)).lines);
  });
});
