/** Temporary Python trees for the scale and hostile-input tests. */
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

export const FIXTURE_RULES = join(import.meta.dirname, "..", "fixtures", "rules");

export function temporaryDirectory(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `stalecheck-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copies the rule fixtures (and optionally the example project) into `dir`. */
export function copyFixtureTree(dir: string, options: { example?: boolean } = {}): void {
  cpSync(FIXTURE_RULES, join(dir, "rules"), { recursive: true });
  if (options.example) cpSync(join(import.meta.dirname, "..", "..", "examples", "billing"), join(dir, "billing"), { recursive: true });
}

/** Every .py file under `dir`, relative, sorted. */
export function pythonFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const entry of readdirSync(sub, { withFileTypes: true })) {
      const path = join(sub, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".py")) out.push(relative(dir, path).split("\\").join("/"));
    }
  };
  walk(dir);
  return out.sort();
}
