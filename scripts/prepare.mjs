#!/usr/bin/env node
/**
 * The package's `prepare` script: builds dist/ (tsc, then the bundle) wherever npm prepares the
 * package from its sources: `npm ci` or `npm install` in a clone, `npm pack`, and an install
 * from a git URL (`npm install -g git+https://…`, which is how pre-commit 4 installs a
 * `language: node` hook; pre-commit 3 runs `npm install` then `npm pack` in its clone).
 *
 * Two things make those installs fail with a plain `tsc -p .`:
 * - `npm pack` prints the tarball's name on standard output, and pre-commit 3 reads that name
 *   from it: this script writes nothing there (everything goes to standard error), and the
 *   repository's .npmrc sets `foreground-scripts=false` so that npm prints no `> prepare`
 *   banner there either.
 * - For a global install from git, npm prepares the clone with a child `npm install` that
 *   inherits `npm_config_global=true`, so the devDependencies go to the global prefix and the
 *   clone has no `tsc`. When the build tools cannot be found next to the package, this installs
 *   them there first (locally, from the lockfile, without running scripts).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const toStderr = { cwd: root, stdio: ["ignore", 2, 2] };

function say(text) {
  process.stderr.write(`stalecheck prepare: ${text}\n`);
}

/** The TypeScript compiler's entry next to the package, or null. */
function findTsc() {
  try {
    return createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
  } catch {
    return null;
  }
}

function run(command, args, options = toStderr) {
  const result = spawnSync(command, args, options);
  if (result.error) throw result.error;
  if (result.status !== 0) {
    say(`${[command, ...args].join(" ")} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

/** npm's own CLI when npm runs this script, else the `npm` on the PATH. */
function npmCommand() {
  const execpath = process.env.npm_execpath;
  return execpath && /\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath]] : ["npm", []];
}

let tsc = findTsc();
if (tsc === null) {
  say("the build tools are not installed next to the package; installing the devDependencies here");
  // Without the inherited global flag (and prefix), so that they land in ./node_modules.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_(global|prefix|location)$/i.test(name)));
  const [npm, npmArgs] = npmCommand();
  run(npm, [...npmArgs, "install", "--no-save", "--include=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--global=false"], { ...toStderr, env });
  tsc = findTsc();
  if (tsc === null) {
    say("typescript is still missing after installing the devDependencies");
    process.exit(1);
  }
}
run(process.execPath, [tsc, "-p", root]);
run(process.execPath, [join(root, "scripts", "bundle.mjs")]);
