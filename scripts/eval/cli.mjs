/**
 * What the eval scripts share: the repository they run from, their command line (`--name VALUE`
 * options, the rest positional), and the built library they scan with.
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** `--name VALUE` pairs taken out of `argv` (null when absent), and the arguments left. */
export function commandLine(argv, names) {
  const rest = [...argv];
  const options = {};
  for (const name of names) {
    const i = rest.indexOf(name);
    options[name] = i < 0 ? null : rest[i + 1];
    if (i >= 0) rest.splice(i, 2);
  }
  return { options, rest };
}

/** The library's scan(), from dist/ (the npm scripts build first). */
export async function loadScan() {
  return (await import(pathToFileURL(join(REPO, "dist", "index.js")).href)).scan;
}
