/** Where the project and its rule documentation live on the web, from package.json `homepage`. */
import { createRequire } from "node:module";
import type { RuleMeta } from "../rules/types.js";
import { TOOL_VERSION } from "../version.js";
import { ruleDocFileName } from "./ruleDocs.js";

const require = createRequire(import.meta.url);
const pkg = require("../../package.json") as { homepage: string };

export const HOMEPAGE: string = pkg.homepage;

/** The rule's generated page, at the tag of this version so that it matches what ran. */
export function ruleDocUrl(meta: RuleMeta): string {
  return `${HOMEPAGE}/blob/v${TOOL_VERSION}/docs/rules/${ruleDocFileName(meta)}`;
}
