/** Where the project and its rule documentation live on the web, from package.json `homepage`. */
import type { RuleMeta } from "../analysis/rule.js";
import { TOOL_HOMEPAGE, TOOL_VERSION } from "../version.js";
import { ruleDocFileName } from "./ruleDocs.js";

export const HOMEPAGE: string = TOOL_HOMEPAGE;

/** The rule's generated page, at the tag of this version so that it matches what ran. */
export function ruleDocUrl(meta: RuleMeta): string {
  return `${HOMEPAGE}/blob/v${TOOL_VERSION}/docs/rules/${ruleDocFileName(meta)}`;
}
