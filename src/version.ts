import { readFileSync } from "node:fs";
import { PACKAGE_JSON } from "./buildRoot.js";

const pkg = JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as { version: string; homepage: string };

export const TOOL_NAME = "stalecheck";
export const TOOL_VERSION: string = pkg.version;
/** Where the project lives on the web (package.json `homepage`). */
export const TOOL_HOMEPAGE: string = pkg.homepage;
