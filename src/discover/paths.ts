/** Path containment, for paths a repository controls. */
import { isAbsolute, relative, sep } from "node:path";

/** Whether `path` is `dir` or lies below it (both absolute; compared as written, links not resolved). */
export function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
