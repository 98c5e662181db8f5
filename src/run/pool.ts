/**
 * A pool of extraction workers (worker_threads), one tree-sitter parser each. Each worker holds a
 * few files in flight and reads them in order, so it never waits for the main thread between
 * files. A worker that runs past the per-file time budget, crashes or runs out of memory is
 * terminated and replaced; only the file it was reading is reported, the files queued behind it
 * go to another worker.
 */
import { Worker } from "node:worker_threads";
import { BUILD_ROOT } from "../buildRoot.js";
import type { ExtractOptions } from "../extract/extractFileFacts.js";
import type { FileFacts } from "../extract/facts.js";
import type { WorkerReply, WorkerSetup, WorkerTask } from "./worker.js";

/**
 * Starts the time budget of the file at `path`: `expire` is called once `ms` have passed, unless
 * the returned function is called first. The pool uses `startBudgetTimer`; tests inject their own
 * to decide when a chosen file's budget runs out, whatever the machine's speed.
 */
export type BudgetTimer = (path: string, ms: number, expire: () => void) => () => void;

/** setTimeout's longest wait; a longer one fires at once (with a warning), so budgets are capped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The wall clock: a budget of more than about 24.8 days is one of about 24.8 days. */
export const startBudgetTimer: BudgetTimer = (_path, ms, expire) => {
  const timer = setTimeout(expire, Math.min(ms, MAX_TIMER_MS));
  return () => clearTimeout(timer);
};

/** `json`: the facts as the worker wrote them; `checksum`: its sha256, when asked for. */
export type ExtractOutcome = { ok: true; facts: FileFacts; json: string; checksum: string | null } | { ok: false; message: string };

export interface ExtractionPoolOptions {
  /** Most worker threads alive at once; workers are started only when there is work for them. */
  size: number;
  /** Per-file wall-time budget; a worker past it is terminated. */
  timeoutMs: number;
  extract: ExtractOptions;
  /** V8 heap cap per worker, so a runaway file kills its worker, not the scan. */
  maxHeapMb?: number;
  /** Test hook: how a file's time budget is timed (default `startBudgetTimer`, the wall clock). */
  startBudget?: BudgetTimer;
}

interface Task {
  id: number;
  path: string;
  text: string;
  checksum: boolean;
  resolve: (outcome: ExtractOutcome) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Files sent to the worker, in the order it reads them; the first is being read. */
  tasks: Task[];
  /** Cancels the budget of the first task, started when the worker reaches it. */
  cancelBudget: (() => void) | null;
  /** Set once the pool has given up on this worker (terminated, crashed or closing). */
  gone: boolean;
}

/** Workers that die before they are ready this many times in a row mean the pool cannot work. */
const MAX_START_FAILURES = 3;
const DEFAULT_MAX_HEAP_MB = 2048;
/**
 * A worker's garbage is one file's tree copy at a time: a small young generation is enough,
 * and it keeps the 1M-line scan's peak RSS about 10 MB lower (389-392 MB to 379-381 MB).
 */
const YOUNG_GENERATION_MB = 8;
/** Files in flight per worker: enough to hide the round trip to the main thread. */
const IN_FLIGHT_PER_WORKER = 4;

export class ExtractionPool {
  private readonly queue: Task[] = [];
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private startFailures = 0;
  private broken: Error | null = null;
  private closed = false;
  private roomWaiters: { below: number; resolve: () => void }[] = [];

  constructor(private readonly options: ExtractionPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new Error(`worker count must be a positive integer, not ${options.size}`);
  }

  /**
   * Extracts one file's facts in a worker, with the checksum of their JSON when `checksum`.
   * Rejects only when no worker can be started at all.
   */
  extract(path: string, text: string, checksum = false): Promise<ExtractOutcome> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error("the extraction pool is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, path, text, checksum, resolve, reject });
      this.pump();
    });
  }

  /** Files waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Resolves once fewer than `below` files wait for a worker: callers read ahead only that far. */
  waitForRoom(below: number): Promise<void> {
    if (this.queue.length < below || this.broken) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ below, resolve }));
  }

  /** Terminates every worker. Pending tasks are not expected: callers await their results first. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const slot of slots) this.retire(slot);
    await Promise.all(slots.map((slot) => slot.worker.terminate().catch(() => undefined)));
  }

  private pump(): void {
    // Fill the least-loaded worker first, so files spread evenly.
    for (let depth = 0; depth < IN_FLIGHT_PER_WORKER && this.queue.length > 0; depth++) {
      for (const slot of this.slots) {
        if (this.queue.length === 0) break;
        if (slot.ready && !slot.gone && slot.tasks.length === depth) this.assign(slot, this.queue.shift()!);
      }
    }
    this.roomWaiters = this.roomWaiters.filter((waiter) => {
      if (this.queue.length >= waiter.below && !this.broken) return true;
      waiter.resolve();
      return false;
    });
    if (this.queue.length === 0) return;
    const starting = this.slots.filter((s) => !s.ready).length;
    let wanted = this.queue.length - starting;
    while (wanted > 0 && this.slots.length < this.options.size) {
      this.spawn();
      wanted--;
    }
  }

  private spawn(): void {
    const entry = workerEntry();
    const setup: WorkerSetup = { extract: this.options.extract };
    const worker = new Worker(entry.url, {
      workerData: setup,
      execArgv: entry.execArgv,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? DEFAULT_MAX_HEAP_MB, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const slot: Slot = { worker, ready: false, tasks: [], cancelBudget: null, gone: false };
    this.slots.push(slot);
    worker.on("message", (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on("error", (error) => this.onStopped(slot, error.message));
    worker.on("exit", (code) => this.onStopped(slot, `exit code ${code}`));
  }

  private assign(slot: Slot, task: Task): void {
    slot.tasks.push(task);
    if (slot.tasks.length === 1) this.startBudget(slot);
    slot.worker.postMessage({ id: task.id, path: task.path, text: task.text, checksum: task.checksum } satisfies WorkerTask);
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if (slot.gone) return;
    if (reply.type === "ready") {
      slot.ready = true;
      this.startFailures = 0;
      this.pump();
      return;
    }
    const task = this.finishTask(slot);
    if (!task || task.id !== reply.id) return;
    if (slot.tasks.length > 0) this.startBudget(slot);
    if (reply.type === "done") {
      task.resolve({ ok: true, facts: JSON.parse(reply.facts) as FileFacts, json: reply.facts, checksum: reply.checksum });
    } else {
      task.resolve({ ok: false, message: `internal error while reading this file, skipped: ${reply.message}` });
      this.replace(slot);
    }
    this.pump();
  }

  private onTimeout(slot: Slot): void {
    const task = this.finishTask(slot);
    this.replace(slot);
    const seconds = this.options.timeoutMs / 1000;
    task?.resolve({ ok: false, message: `skipped: reading this file took longer than the ${seconds} s per-file time budget (--file-timeout)` });
    this.pump();
  }

  private onStopped(slot: Slot, why: string): void {
    if (slot.gone) return;
    const wasReady = slot.ready;
    const task = this.finishTask(slot);
    this.replace(slot);
    if (task) {
      const reason = /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(why) ? "the extraction worker ran out of memory" : `the extraction worker stopped (${why})`;
      task.resolve({ ok: false, message: `internal error while reading this file, skipped: ${reason}` });
    }
    if (!wasReady && !task && ++this.startFailures >= MAX_START_FAILURES) {
      this.broken = new Error(`cannot start an extraction worker: ${why}`);
      for (const queued of this.queue.splice(0)) queued.reject(this.broken);
      for (const waiter of this.roomWaiters.splice(0)) waiter.resolve();
      return;
    }
    this.pump();
  }

  /** The worker has just reached its first task: its time budget starts now. */
  private startBudget(slot: Slot): void {
    const task = slot.tasks[0]!;
    let live = true;
    const start = this.options.startBudget ?? startBudgetTimer;
    // An injected timer may call expire late: only the budget still running counts.
    const cancel = start(task.path, this.options.timeoutMs, () => {
      if (live && !slot.gone && slot.tasks[0] === task) this.onTimeout(slot);
    });
    slot.cancelBudget = () => {
      live = false;
      cancel();
    };
  }

  private stopBudget(slot: Slot): void {
    slot.cancelBudget?.();
    slot.cancelBudget = null;
  }

  /** Takes the task the worker was reading off the slot. */
  private finishTask(slot: Slot): Task | null {
    this.stopBudget(slot);
    return slot.tasks.shift() ?? null;
  }

  /**
   * Drops a worker from the pool and terminates it; the files queued behind the one it was
   * reading go back to the front of the queue, and `pump()` starts a new worker for them.
   */
  private replace(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    this.queue.unshift(...slot.tasks.splice(0));
    this.retire(slot);
    void slot.worker.terminate().catch(() => undefined);
  }

  private retire(slot: Slot): void {
    slot.gone = true;
    this.stopBudget(slot);
  }
}

/**
 * The worker script: dist/run/worker.js once built. Running from the TypeScript sources (the
 * test suite), worker.ts next to this module, with the parent's Node options (`execArgv`
 * undefined), which must then load TypeScript: the test runner's configuration adds a loader.
 */
function workerEntry(): { url: URL; execArgv: string[] | undefined } {
  if (import.meta.url.endsWith(".ts")) return { url: new URL("./worker.ts", import.meta.url), execArgv: undefined };
  // From BUILD_ROOT, not this module: bundled into dist/stalecheck.mjs, this module has no file of its own.
  return { url: new URL("run/worker.js", BUILD_ROOT), execArgv: [] };
}
