/**
 * What the rules see of one function: its events with calls resolved into what the callees do,
 * the DRF permission checks that run before it, its transaction regions (the implicit
 * `ATOMIC_REQUESTS` one included), and the state-check/write pairs found in it.
 */
import type { CheckEvent, FetchEvent, FileFacts, FunctionEvent, FunctionFacts, Region, VariableDef, WriteEvent } from "../extract/facts.js";
import type { CallSite } from "../project/callGraph.js";

export interface ModelCore {
  file: FileFacts;
  fn: FunctionFacts;
  events: FunctionEvent[];
  atomic: Region[];
  defs: VariableDef[];
  /** Calls to this function from anywhere in the project. */
  callers: readonly CallSite[];
}

export interface FunctionModel extends ModelCore {
  /** A fetched object's field checked, then the object (or a row derived from it) written. */
  stateWrites: StateWrite[];
}

export type StateWriteVerdict =
  /** No lock anywhere near: STC102. */
  | { kind: "unlocked" }
  /** A lock is held around check and write, but on other rows: STC105. */
  | { kind: "wrong-row"; lock: FetchEvent; region: Region }
  /** The object was locked, but the block ended before the write: STC105. */
  | { kind: "released"; region: Region };

export interface StateWrite {
  check: CheckEvent;
  write: WriteEvent;
  subject: number;
  verdict: StateWriteVerdict;
}
