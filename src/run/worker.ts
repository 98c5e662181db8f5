/**
 * An extraction worker: one tree-sitter parser, one file at a time, in the order sent. It
 * receives source text and sends back `FileFacts` as JSON, with the JSON's checksum when the
 * facts cache will store it, so that work is not the main thread's. JSON rather than a structured
 * clone: V8 writes it faster, and the cache stores it as it is. It never sees the rules.
 */
import { parentPort, workerData } from "node:worker_threads";
import { sha256 } from "../cache/entryFile.js";
import { getPythonParser } from "../parse/parser.js";
import { extractFileFacts, type ExtractOptions } from "../extract/extractFileFacts.js";

export interface WorkerTask {
  id: number;
  path: string;
  text: string;
  /** The facts cache will store the facts: send their checksum too. */
  checksum: boolean;
}

export type WorkerReply =
  | { type: "ready" }
  /** `facts`: the file's `FileFacts` as JSON; `checksum`: its sha256, when asked for. */
  | { type: "done"; id: number; facts: string; checksum: string | null }
  /** The wasm parser may be in a bad state after a failure, so the pool replaces the worker. */
  | { type: "failed"; id: number; message: string };

export interface WorkerSetup {
  extract: ExtractOptions;
}

const port = parentPort;
if (!port) throw new Error("extract/worker.js runs only as a worker thread");
const setup = workerData as WorkerSetup;

// Parse a snippet before taking files, so compiling the grammar does not eat the first file's time budget.
(await getPythonParser()).parse("def warm_up(request):\n    return [x for x in request.GET if x]\n")?.delete();
port.postMessage({ type: "ready" } satisfies WorkerReply);
// Files are read one after another, in the order they arrive: the pool times the first in line.
let reading = Promise.resolve();
port.on("message", (task: WorkerTask) => {
  reading = reading.then(() => read(task));
});

async function read(task: WorkerTask): Promise<void> {
  try {
    const facts = JSON.stringify(await extractFileFacts(task.path, task.text, setup.extract));
    port!.postMessage({ type: "done", id: task.id, facts, checksum: task.checksum ? sha256(facts) : null } satisfies WorkerReply);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    port!.postMessage({ type: "failed", id: task.id, message } satisfies WorkerReply);
  }
}
