/**
 * The README tells the truth: its example outputs are what stalecheck prints today (regenerated
 * by `npm run docs:readme` from real runs), its links lead to files of the repository, it
 * offers no install command that cannot work, and it documents every option.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { HELP, OPTION_NAMES } from "../src/cli/args.js";
// @ts-expect-error: a plain JavaScript module (the generator), run without a build.
import { generatedBlocks, rewriteReadme, withoutTimings } from "../scripts/generate-readme.mjs";

const repo = join(import.meta.dirname, "..");
const readme = readFileSync(join(repo, "README.md"), "utf8");
const docs = ["README.md", "docs/integrations.md", "docs/performance.md", "examples/billing/README.md"];

describe("README.md", () => {
  it("shows example outputs that match real runs (npm run docs:readme regenerates them)", async () => {
    const blocks = await generatedBlocks(readme);
    expect(Object.keys(blocks).every((name) => readme.includes(`<!-- generated: ${name} -->`)), "a generated block is missing from README.md").toBe(true);
    expect(withoutTimings(readme), "README.md examples are stale: run `npm run docs:readme` and commit the result").toBe(withoutTimings(rewriteReadme(readme, blocks)));
  });

  it("links only to files of the repository", () => {
    const tracked = new Set(execFileSync("git", ["ls-files"], { cwd: repo, encoding: "utf8" }).split("\n"));
    const broken: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(join(repo, doc), "utf8");
      for (const [, target] of text.matchAll(/\]\((?!https?:|mailto:|#)([^)\s]+)\)/g)) {
        const path = resolve(repo, dirname(doc), target!.replace(/#.*$/, ""));
        const rel = relative(repo, path);
        const inRepo = !rel.startsWith("..") && (tracked.has(rel) || [...tracked].some((f) => f.startsWith(`${rel}/`)));
        if (!inRepo || !existsSync(path)) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("offers no install command that cannot work (the package is not on the npm registry)", () => {
    for (const doc of docs) {
      const text = readFileSync(join(repo, doc), "utf8");
      expect(text, doc).not.toMatch(/npx (--yes )?stalecheck@\d/);
      expect(text, doc).not.toMatch(/^\s*(- )?npx stalecheck /m);
    }
  });

  it("documents every option in its options table and in --help", () => {
    const table = readme.slice(readme.indexOf("### Options"), readme.indexOf("Command-line flags override"));
    for (const option of OPTION_NAMES) {
      expect(table, `README options table lacks ${option}`).toMatch(new RegExp(`\`${option.replace(/-/g, "\\-")}[\` ]`));
      expect(HELP, `--help lacks ${option}`).toMatch(new RegExp(`(^|[ ,])${option.replace(/-/g, "\\-")}\\b`, "m"));
    }
  });
});
