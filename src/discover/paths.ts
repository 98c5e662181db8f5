/** Path containment, for paths a repository controls. */
import { isAbsolute, relative, sep } from "node:path";

/** Whether `path` is `dir` or lies below it (both absolute; compared as written, links not resolved). */
export function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * `absolute` as reports show a path from `baseDir` (the working directory): relative, with
 * forward slashes, or absolute when it lies outside `baseDir` (see report/paths.ts).
 */
export function shownPath(baseDir: string, absolute: string): string {
  const rel = relative(baseDir, absolute);
  if (rel === "") return ".";
  return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? absolute : rel.split(sep).join("/");
}
