// Module hooks for sourceWorkerLoader.mjs: `./x.js` imports resolve to `./x.ts` when only the
// source exists, and .ts files are transpiled (types stripped) with the project's TypeScript.
// Transpiled modules are kept in node_modules/.cache, so only the first worker pays for it.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CACHE = fileURLToPath(new URL("../../node_modules/.cache/stalecheck-worker-sources/", import.meta.url));
let typescript;

export async function resolve(specifier, context, nextResolve) {
  if (specifier.endsWith(".js") && specifier.startsWith(".") && context.parentURL?.endsWith(".ts")) {
    const asSource = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (!existsSync(fileURLToPath(new URL(specifier, context.parentURL))) && existsSync(fileURLToPath(asSource))) {
      return { url: asSource.href, shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith(".ts")) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = readFileSync(path, "utf8");
  const cached = join(CACHE, `${createHash("sha256").update(path).update("\0").update(source).digest("hex").slice(0, 32)}.mjs`);
  if (existsSync(cached)) return { format: "module", source: readFileSync(cached, "utf8"), shortCircuit: true };
  typescript ??= (await import("typescript")).default;
  const output = typescript.transpileModule(source, {
    fileName: path,
    compilerOptions: { module: typescript.ModuleKind.ESNext, target: typescript.ScriptTarget.ES2022, sourceMap: false },
  }).outputText;
  try {
    mkdirSync(CACHE, { recursive: true });
    const temporary = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(temporary, output);
    renameSync(temporary, cached);
  } catch {
    // An unwritable cache only makes the next worker transpile again.
  }
  return { format: "module", source: output, shortCircuit: true };
}
