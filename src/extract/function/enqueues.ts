/** Task enqueues (`task.delay(...)`, `apply_async`): work that runs later, on the definitions passed to it. */
import { dottedName } from "../syntax.js";
import { ENQUEUE_METHODS } from "../vocabulary.js";
import type { MethodCallSite, Recogniser } from "./builder.js";

export const enqueue: Recogniser<MethodCallSite> = {
  names: ENQUEUE_METHODS,
  recognise: ({ b, call, args, receiver }) => {
    b.pushArgs(args);
    const write = b.emitWrite(call, "enqueue", b.closure(b.referencedDefs(args)), null, null);
    const task = dottedName(receiver);
    if (task) write.event.task = task;
    return write;
  },
};
