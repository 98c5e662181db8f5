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
    "## Fixes",
    "",
    "`stalecheck check --fix` applies the safe fixes, `--unsafe-fixes` the unsafe ones too, and `--diff` prints them without writing; the language server offers each as a quick fix.",
    "",
    ...docs.fixes.available.map((f) => `- **${f.safety === "safe" ? "Safe" : "Unsafe"}**: ${f.title} ${f.why}`),
    ...(docs.fixes.available.length > 0 ? [""] : []),
    `${docs.fixes.available.length > 0 ? "No fix is offered when " : "No fix: "}${docs.fixes.none}`,
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
