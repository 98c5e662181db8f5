#!/usr/bin/env node
// Thin shim: all behaviour lives in dist/cli/main.js. `npm run build` also bundles it into
// dist/stalecheck.mjs, which loads in one step instead of ~70 and is used when it is at least as
// new as the modules; after a bare `tsc` (or where esbuild is not installed) the modules run.
import { statSync } from "node:fs";

const bundle = new URL("../dist/stalecheck.mjs", import.meta.url);
const modules = new URL("../dist/cli/main.js", import.meta.url);
let useBundle = false;
try {
  useBundle = statSync(bundle).mtimeMs >= statSync(modules).mtimeMs;
} catch {
  // No bundle: run the modules.
}
const { main } = await import(useBundle ? bundle.href : modules.href);

const exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
  stdoutIsTTY: Boolean(process.stdout.isTTY),
  stderrIsTTY: Boolean(process.stderr.isTTY),
  readStdin: async () => {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
  },
});
process.exitCode = exitCode;
