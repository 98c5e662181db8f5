// Module hooks for sourceWorkerLoader.mjs: `./x.js` imports resolve to `./x.ts` when only the
// source exists, and .ts files are transpiled (types stripped) with the project's TypeScript.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

let typescript;

export async function resolve(specifier, context, nextResolve) {
  if (specifier.endsWith(".js") && (specifier.startsWith(".") || specifier.startsWith("file:")) && context.parentURL?.endsWith(".ts")) {
    const asSource = new URL(specifier.slice(0, -3) + ".ts", context.parentURL);
    if (!existsSync(fileURLToPath(new URL(specifier, context.parentURL))) && existsSync(fileURLToPath(asSource))) {
      return { url: asSource.href, shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith(".ts")) return nextLoad(url, context);
  typescript ??= (await import("typescript")).default;
  const source = readFileSync(fileURLToPath(url), "utf8");
  const output = typescript.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: typescript.ModuleKind.ESNext, target: typescript.ScriptTarget.ES2022, sourceMap: false },
  });
  return { format: "module", source: output.outputText, shortCircuit: true };
}
