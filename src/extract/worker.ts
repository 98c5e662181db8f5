/**
 * An extraction worker: one tree-sitter parser, one file at a time. It receives source text and
 * sends back plain `FileFacts` (structured-cloned); it never sees the file system or the rules.
 */
import { parentPort, workerData } from "node:worker_threads";
import { getPythonParser } from "../parse/parser.js";
import { extractFileFacts, type ExtractOptions } from "./extractFileFacts.js";
import type { FileFacts } from "./facts.js";

export interface WorkerTask {
  id: number;
  path: string;
  text: string;
}

export type WorkerReply =
  | { type: "ready" }
  | { type: "done"; id: number; facts: FileFacts }
  /** `recycle`: the wasm parser may be in a bad state after this, so the worker should be replaced. */
  | { type: "failed"; id: number; message: string; recycle: boolean };

export interface WorkerSetup {
  extract: ExtractOptions;
}

const port = parentPort;
if (!port) throw new Error("extract/worker.js runs only as a worker thread");
const setup = workerData as WorkerSetup;

await getPythonParser();
port.postMessage({ type: "ready" } satisfies WorkerReply);
port.on("message", (task: WorkerTask) => {
  extractFileFacts(task.path, task.text, setup.extract).then(
    (facts) => port.postMessage({ type: "done", id: task.id, facts } satisfies WorkerReply),
    (error: unknown) => {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      port.postMessage({ type: "failed", id: task.id, message, recycle: true } satisfies WorkerReply);
    },
  );
});
