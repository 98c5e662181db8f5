/**
 * What the language server scans with: the workspace root's configuration
 * (`[tool.stalecheck]` in the nearest pyproject.toml, or stalecheck.toml), read as
 * `stalecheck check` reads it, and the facts cache in `.stalecheck-cache` under the root.
 */
import { join } from "node:path";
import { cacheKeyDirectory } from "../cache/cacheKey.js";
import { loadConfig } from "../config/config.js";
import { readBaseline } from "../report/baseline.js";
import type { ScanOptions } from "../run/scan.js";

export const CACHE_DIR = ".stalecheck-cache";

export function serverScanOptions(root: string, env: Readonly<Record<string, string | undefined>>): ScanOptions {
  const { dir, config } = loadConfig({ cwd: root, paths: [] });
  return {
    paths: [],
    cwd: root,
    ...(config.select ? { select: config.select } : {}),
    ...(config.ignore ? { ignore: config.ignore } : {}),
    exclude: [],
    ...(config.exclude ? { configExclude: config.exclude } : {}),
    ...(dir !== null ? { configDir: dir } : {}),
    ...(config.perFileIgnores ? { perFileIgnores: config.perFileIgnores } : {}),
    includeNonRequest: config.includeNonRequest ?? false,
    strict: config.strict ?? false,
    ...(config.maxFileBytes !== undefined ? { maxFileBytes: config.maxFileBytes } : {}),
    transactionNames: config.transactionNames ?? [],
    checkHelpers: config.checkHelpers ?? [],
    sensitiveModels: config.sensitiveModels ?? [],
    basicAuthClasses: config.basicAuthClasses ?? [],
    basicAuthMiddleware: config.basicAuthMiddleware ?? [],
    ...(config.baseline ? { baseline: readBaseline(config.baseline) } : {}),
    // As the CLI's default: a cache directory that may not be used is passed over, not an error.
    cacheDir: join(root, CACHE_DIR),
    cacheDirDefault: true,
    cacheKeyDir: cacheKeyDirectory(env, root),
  };
}
