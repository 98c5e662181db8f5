/**
 * Globs from the configuration file, relative to its directory and gitignore-like: a pattern
 * without `/` matches a file or directory name at any depth, and a pattern that matches a
 * directory matches everything below it.
 */
import { relative, sep } from "node:path";
import picomatch from "picomatch";

/** A predicate on absolute paths; false for paths outside `base`. */
export function configGlobMatcher(base: string, globs: readonly string[]): (absolute: string) => boolean {
  if (globs.length === 0) return () => false;
  const anchored = globs.filter((g) => g.replace(/\/$/, "").includes("/")).map((g) => g.replace(/^\//, "").replace(/\/$/, ""));
  const named = globs.filter((g) => !g.replace(/\/$/, "").includes("/")).map((g) => g.replace(/\/$/, ""));
  const matchPath = anchored.length > 0 ? picomatch(anchored, { dot: true }) : () => false;
  const matchName = named.length > 0 ? picomatch(named, { dot: true }) : () => false;
  return (absolute) => {
    const rel = relative(base, absolute).split(sep).join("/");
    if (rel === "" || rel.startsWith("../") || rel === "..") return false;
    const parts = rel.split("/");
    return parts.some((name, i) => matchName(name) || matchPath(parts.slice(0, i + 1).join("/")));
  };
}
