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
export { formatSarif } from "./report/sarif.js";
export type { SarifOptions } from "./report/sarif.js";
export { formatGithub } from "./report/github.js";
export type { GithubOptions } from "./report/github.js";
export { applyBaseline, buildBaseline, formatBaseline, readBaseline } from "./report/baseline.js";
export type { Baseline, BaselineEntry } from "./report/baseline.js";
export { loadConfig, findConfigFile, readConfigFile, ConfigError, CONFIG_KEYS } from "./config/config.js";
export type { StalecheckConfig, LoadedConfig } from "./config/config.js";
