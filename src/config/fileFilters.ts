/**
 * Globs from the configuration file, relative to its directory and gitignore-like: a pattern
 * without `/` matches a file or directory name at any depth, and a pattern that matches a
 * directory matches everything below it.
 */
import { relative, sep } from "node:path";
import picomatch from "picomatch";

/**
 * Why a glob cannot be used, or null when it can: a configuration glob that is only slashes
 * (`"/"`) names nothing, and picomatch refuses an empty pattern or one over 64 KiB.
 */
export function globProblem(glob: string, options: { configGlob: boolean }): string | null {
  const pattern = options.configGlob ? glob.replace(/^\//, "").replace(/\/$/, "") : glob;
  if (pattern.trim() === "") return "names no file (a glob needs more than slashes or spaces)";
  try {
    picomatch(pattern, { dot: true });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A predicate on absolute paths; false for paths outside `base`. */
export function configGlobMatcher(base: string, globs: readonly string[]): (absolute: string) => boolean {
  // Globs that name nothing (`"/"`) are refused when the configuration is read; here they match nothing.
  const usable = globs.filter((g) => globProblem(g, { configGlob: true }) === null);
  if (usable.length === 0) return () => false;
  const anchored = usable.filter((g) => g.replace(/\/$/, "").includes("/")).map((g) => g.replace(/^\//, "").replace(/\/$/, ""));
  const named = usable.filter((g) => !g.replace(/\/$/, "").includes("/")).map((g) => g.replace(/\/$/, ""));
  const matchPath = anchored.length > 0 ? picomatch(anchored, { dot: true }) : () => false;
  const matchName = named.length > 0 ? picomatch(named, { dot: true }) : () => false;
  return (absolute) => {
    const rel = relative(base, absolute).split(sep).join("/");
    if (rel === "" || rel.startsWith("../") || rel === "..") return false;
    const parts = rel.split("/");
    return parts.some((name, i) => matchName(name) || matchPath(parts.slice(0, i + 1).join("/")));
  };
}
