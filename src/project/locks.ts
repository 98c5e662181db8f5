/** Row locks the project takes through its own managers and querysets (`Account.objects.locked()`). */
import type { FileFacts, QueryShape } from "../extract/facts.js";
import { classOf } from "./classes.js";
import type { ModuleIndex } from "./modules.js";

/** Methods of custom managers/querysets in the tree that return a `select_for_update()` queryset. */
export function lockingQuerysetMethods(files: readonly FileFacts[], index: ModuleIndex): ReadonlySet<string> {
  return new Set(files.flatMap((f) => f.functions.filter((fn) => fn.returnsLockedQuery && fn.className !== null &&
    (classOf(index, f, fn)?.bases ?? []).some((b) => /(Manager|QuerySet)$/.test(b))).map((fn) => fn.name.split(".").pop()!)));
}

/** The query locks through one of those methods, though it does not call `select_for_update()` itself. */
export function locksThroughCustomMethod(methods: ReadonlySet<string>, query: QueryShape): boolean {
  return !query.locked && (query.custom ?? []).some((m) => methods.has(m));
}
