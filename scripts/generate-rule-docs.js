// Writes docs/rules/<code>-<name>.md from each rule's metadata. Run: npm run docs:rules
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RULES } from "../dist/rules/registry.js";
import { ruleDocFileName, ruleDocMarkdown } from "../dist/report/ruleDocs.js";

const dir = join(import.meta.dirname, "..", "docs", "rules");
mkdirSync(dir, { recursive: true });
for (const rule of RULES) {
  writeFileSync(join(dir, ruleDocFileName(rule.meta)), ruleDocMarkdown(rule.meta));
  console.log(`wrote docs/rules/${ruleDocFileName(rule.meta)}`);
}
