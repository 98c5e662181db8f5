#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/cli/main.js and everything it imports) into one module,
 * dist/stalecheck.mjs, which bin/stalecheck.js loads. Loading ~70 modules one by one cost about
 * 0.1 s on every run, a third of a warm scan. The extraction workers and the library entry
 * (dist/index.js) stay as tsc wrote them. Run by `npm run build`, after tsc.
 *
 * The bundle only saves start-up time: where esbuild is not installed (`npm ci --omit=optional`
 * leaves out its binary), this says so and exits 0, and bin/stalecheck.js runs tsc's modules.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let build;
try {
  ({ build } = await import("esbuild"));
  // Loading the package works without its platform binary; a trivial build proves it is there.
  await build({ stdin: { contents: "" }, write: false, logLevel: "silent" });
} catch (error) {
  process.stderr.write(`stalecheck: not bundling the CLI (esbuild unavailable: ${String(error?.message ?? error).split("\n")[0]}); it will run from dist/cli/main.js\n`);
  process.exit(0);
}

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");

await build({
  entryPoints: [join(dist, "cli", "main.js")],
  outfile: join(dist, "stalecheck.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // web-tree-sitter finds its wasm next to its own module; the parser only runs in workers anyway.
  // The language server's protocol library is loaded only by `stalecheck server`, from node_modules.
  external: ["web-tree-sitter", "vscode-languageserver", "vscode-languageserver-textdocument"],
  // CommonJS dependencies (picomatch, ignore) call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __stalecheckRequire } from "node:module"; const require = __stalecheckRequire(import.meta.url);' },
  logLevel: "warning",
});
