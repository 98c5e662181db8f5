import { parsePython } from "../parse/parser.js";
import type { FileFacts } from "./facts.js";
import { extractFunction, type FileContext } from "./functionWalker.js";
import { scanModule } from "./moduleFacts.js";
import { SourceLines } from "./syntax.js";

export interface ExtractOptions {
  /** Extra dotted names that open a transaction (`myapp.db.locked_atomic`). */
  transactionNames?: readonly string[];
}

/** Directories whose code serves no request: tests and their utilities, migrations, scripts, scheduled jobs. */
const NON_REQUEST_DIRECTORY = /^(tests?|testing|test_?utils|\w+_tests|migrations|scripts|jobs)$/;

/**
 * Tests and test utilities, migrations and the helpers written for them, management commands,
 * scripts and scheduled jobs do not serve requests.
 */
export function isRequestCode(path: string): boolean {
  const parts = path.split("/");
  const file = parts[parts.length - 1] ?? "";
  // `jobs/` holds django-extensions scheduled jobs; `scripts/`, one-off and cron scripts.
  if (parts.slice(0, -1).some((part) => NON_REQUEST_DIRECTORY.test(part))) return false;
  if (/^(test_.*|.*_tests?|tests|conftest|factories|migrations)\.py$/.test(file)) return false;
  const joined = parts.join("/");
  return !/(^|\/)management\/commands\//.test(joined);
}

/**
 * Python reads `\r\n` and a lone `\r` (old Mac files) as line ends; tree-sitter-python takes
 * only `\n`, and would read a CR-only file as one broken line. Each becomes one `\n`, so line
 * numbers stay those of the file.
 */
function normalizeLineEnds(source: string): string {
  return source.includes("\r") ? source.replace(/\r\n?/g, "\n") : source;
}

/**
 * Parses one file and returns its facts. Pure: the same path and source give the same facts.
 */
export async function extractFileFacts(path: string, text: string, options: ExtractOptions = {}): Promise<FileFacts> {
  const source = normalizeLineEnds(text);
  const root = await parsePython(source);
  const lines = new SourceLines(source);
  const scan = scanModule(root, lines);
  const ctx: FileContext = { lines, imports: scan.imports, transactionNames: new Set(options.transactionNames ?? []) };
  const functions = [];
  for (const site of scan.functions) {
    // A function that contains a syntax error is skipped: its event model would be guesswork.
    const [start, end] = [site.node.startIndex, site.node.endIndex];
    if (scan.errorSpans.some(([s, e]) => s >= start && e <= end)) continue;
    functions.push(extractFunction(site, ctx));
  }
  return {
    path,
    lines: lines.count,
    requestCode: isRequestCode(path),
    imports: scan.imports,
    classes: scan.classes,
    functions,
    models: scan.models,
    settings: scan.settings,
    mutatedFields: [...scan.mutatedFields].sort(),
    problems: scan.problems,
    directives: scan.directives,
    urlpatterns: scan.urlpatterns,
    routers: scan.routers,
    settingAssignments: scan.settingAssignments,
    starImports: scan.starImports,
    moduleDicts: scan.moduleDicts,
    settingsModule: scan.settingsModule,
  };
}
