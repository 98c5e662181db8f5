import type { RuleMeta } from "../analysis/rule.js";

/** A rule's documentation as Markdown, the text of docs/rules/<code>-<name>.md and of `stalecheck explain`. */
export function ruleDocMarkdown(meta: RuleMeta): string {
  const { docs } = meta;
  const strip = (code: string) => code.replace(/\s*# expect: [A-Z0-9, ]+$/gm, "");
  return [
    `# ${meta.code} ${meta.name}`,
    "",
    `Default severity: **${meta.defaultSeverity}** (see "Severity" in the README for how a finding's severity is set).`,
    "",
    "## What it does",
    "",
    docs.summary,
    "",
    "## Why is this bad?",
    "",
    docs.why,
    "",
    "## Example",
    "",
    "```python",
    strip(docs.example),
    "```",
    "",
    "## Use instead",
    "",
    "```python",
    docs.useInstead,
    "```",
    "",
    "## Known limitations",
    "",
    ...docs.knownLimitations.map((l) => `- ${l}`),
    "",
    "## References",
    "",
    ...docs.references.map((r) => `- [${r.title}](${r.url})`),
    "",
  ].join("\n");
}

export function ruleDocFileName(meta: RuleMeta): string {
  return `${meta.code}-${meta.name}.md`;
}
