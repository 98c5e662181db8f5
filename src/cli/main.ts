/** The CLI: the only module that knows about argv, exit codes, TTYs and the environment. */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ruleDocMarkdown } from "../report/ruleDocs.js";
import { formatJson } from "../report/json.js";
import { formatText } from "../report/text.js";
import { RULES, findRule } from "../rules/registry.js";
import { UsageError, atOrAbove, scan } from "../scan.js";
import { TOOL_VERSION } from "../version.js";
import { ArgsError, HELP, parseArgs } from "./args.js";

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
  stdoutIsTTY: boolean;
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_ERROR = 2;

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (error instanceof ArgsError) {
      io.stderr(`stalecheck: ${error.message}\nRun \`stalecheck --help\` for usage.\n`);
      return EXIT_ERROR;
    }
    throw error;
  }
  switch (args.command) {
    case "help":
      io.stdout(HELP);
      return EXIT_OK;
    case "version":
      io.stdout(`stalecheck ${TOOL_VERSION}\n`);
      return EXIT_OK;
    case "rules":
      if (args.format === "json") {
        io.stdout(`${JSON.stringify(RULES.map((r) => ({ code: r.meta.code, name: r.meta.name, defaultSeverity: r.meta.defaultSeverity, summary: r.meta.docs.summary })), null, 2)}\n`);
      } else {
        for (const rule of RULES) io.stdout(`${rule.meta.code}  ${rule.meta.name.padEnd(34)} ${rule.meta.defaultSeverity.padEnd(8)} ${rule.meta.docs.summary}\n`);
      }
      return EXIT_OK;
    case "explain": {
      const rule = findRule(args.rule);
      if (!rule) {
        io.stderr(`stalecheck: no rule "${args.rule}"; \`stalecheck rules\` lists them\n`);
        return EXIT_ERROR;
      }
      io.stdout(ruleDocMarkdown(rule.meta));
      return EXIT_OK;
    }
    case "check":
      break;
  }
  try {
    const result = await scan({
      paths: args.paths, cwd: io.cwd, select: args.select, ignore: args.ignore, exclude: args.exclude,
      includeNonRequest: args.includeNonRequest, ...(args.maxFileBytes !== undefined ? { maxFileBytes: args.maxFileBytes } : {}),
    });
    const color = args.output === null && io.stdoutIsTTY && !io.env.NO_COLOR;
    const report = args.format === "json" ? formatJson(result) : formatText(result, { color });
    if (args.output !== null) writeFileSync(resolve(io.cwd, args.output), report);
    else io.stdout(report);
    return atOrAbove(result.findings, args.failOn).length > 0 ? EXIT_FINDINGS : EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`stalecheck: ${error.message}\n`);
      return EXIT_ERROR;
    }
    io.stderr(`stalecheck: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_ERROR;
  }
}
