/** The library API: `scan()` returns exactly what `stalecheck --format json` prints. */
export { scan, atOrAbove, UsageError, DEFAULT_MAX_FILE_BYTES } from "./scan.js";
export type { ScanOptions, ScanResult, ScanError } from "./scan.js";
export type { Finding, SiteRef } from "./rules/analyse.js";
export type { Severity, Confidence, RuleMeta, RuleDocs } from "./rules/types.js";
export { RULES, findRule } from "./rules/registry.js";
export { extractFileFacts } from "./extract/extractFileFacts.js";
export type { FileFacts } from "./extract/facts.js";
export { formatJson } from "./report/json.js";
export { formatText } from "./report/text.js";
export { ruleDocMarkdown } from "./report/ruleDocs.js";
