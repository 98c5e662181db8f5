/**
 * What counts as a use a check guards (DESIGN.md §1): writes, deletes, creates, task enqueues,
 * and disclosures of protected data. Not uses: audit, history and log rows, timestamp
 * bookkeeping, and responses that only echo what the handler itself just wrote.
 */
import type { FunctionEvent, WriteEvent } from "../extract/facts.js";
import type { ModelCore } from "./model.js";

/** Models that record what happened rather than state a decision protects. */
const RECORD_MODEL = /(Log|LogEntry|History|Journal|Cache)$|^Historical[A-Z]|Audit/;
/** Fields that only say when something happened or was seen. */
const TIMESTAMP_FIELD = /^(last_[a-z_]+|(date_)?(updated|modified|changed|edited|seen|accessed|touched|synced|viewed|visited|refreshed)(_(at|on|date|time))?|timestamp)$/;

export type Use = WriteEvent | (FunctionEvent & { type: "disclose" });

/** A field that only says when something happened or was seen (`last_seen`, `updated_at`). */
export function isTimestampField(field: string): boolean {
  return TIMESTAMP_FIELD.test(field);
}

/** A write that only keeps records or times: an audit or history row, a `last_seen` bump. */
export function isBookkeeping(write: WriteEvent): boolean {
  if (write.query?.model && RECORD_MODEL.test(write.query.model) && write.op !== "delete") return true;
  return write.setFields !== undefined && write.setFields.length > 0 && write.setFields.every(isTimestampField);
}

/**
 * The events of a function that a check may guard: its writes and enqueues other than
 * bookkeeping, and its disclosures unless the function writes too (its response then echoes the
 * action's own result).
 */
export function usesOf(model: ModelCore): Use[] {
  const writes = model.events.filter((e): e is WriteEvent => e.type === "write" && !isBookkeeping(e));
  const writesState = writes.some((w) => w.op !== "enqueue");
  return model.events.filter((e): e is Use => (e.type === "write" && !isBookkeeping(e)) || (e.type === "disclose" && !writesState));
}
