/** Slow work: network, mail, subprocesses and sleeping, which widen the window between a check and its use. */
import type { SyntaxNode } from "../../parse/parser.js";
import { field } from "../syntax.js";
import { COROUTINE_RUNNERS, SLOW_FUNCTIONS, SLOW_ROOTS } from "../vocabulary.js";
import { type CallSite, type MethodCallSite, OTHER, type Recogniser, importedAs } from "./builder.js";

/** `sleep(1)`, `send_mail(...)`. */
export const slowFunction: Recogniser<CallSite> = {
  names: SLOW_FUNCTIONS,
  recognise: ({ b, call, name, args }) => {
    b.events.push({ type: "slow", pos: call.startIndex, site: b.ctx.lines.site(call), what: name });
    b.pushArgs(args);
    return OTHER;
  },
};

/** `requests.post(...)`, `stripe.Charge.create(...)` (by the module the root name is imported from), `time.sleep(1)`. */
export const slowMethod: Recogniser<MethodCallSite> = {
  recognise: ({ b, call, fn, name, args }) => {
    if (!SLOW_FUNCTIONS.has(name)) {
      const rootName = dottedRoot(fn);
      const root = importedAs(b.ctx, rootName)?.split(".")[0] ?? rootName;
      if (!SLOW_ROOTS.has(root) && !(root === "asyncio" && COROUTINE_RUNNERS.has(name))) return null;
    }
    b.events.push({ type: "slow", pos: call.startIndex, site: b.ctx.lines.site(call), what: fn.text });
    b.pushArgs(args);
    return OTHER;
  },
};

/** The first name of a dotted name (`requests` in `requests.api.post`), "" when `fn` is not one; runs on every method call, so it builds no strings. */
function dottedRoot(fn: SyntaxNode): string {
  let current: SyntaxNode | null = fn;
  while (current && current.type === "attribute") current = field(current, "attribute") ? field(current, "object") : null;
  return current?.type === "identifier" ? current.text : "";
}
