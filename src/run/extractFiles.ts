/**
 * The per-file stage of a scan: read each discovered file (size and encoding budget), reuse its
 * cached facts or extract them in the worker pool (time budget), and return the facts in
 * discovery order, whatever order the workers finish in, so output never depends on --jobs.
 */
import { availableParallelism } from "node:os";
import { setImmediate as nextTurn } from "node:timers/promises";
import { FactsCache } from "../cache/factsCache.js";
import { contentKey } from "../cache/resultCache.js";
import type { FileError } from "../core/errors.js";
import type { ExtractionStats } from "../core/result.js";
import type { DiscoveredFile } from "../discover/discover.js";
import { type FileIdentity, type SourceRead, readSource } from "../discover/readSource.js";
import type { ExtractOptions } from "../extract/extractFileFacts.js";
import type { FileFacts } from "../extract/facts.js";
import { type BudgetTimer, ExtractionPool } from "./pool.js";

export const DEFAULT_FILE_TIMEOUT_MS = 20_000;

export interface ExtractFilesOptions {
  /** Worker threads; default the number of cores. */
  jobs?: number;
  maxFileBytes: number;
  /** Per-file extraction budget in milliseconds. */
  fileTimeoutMs?: number;
  /**
   * The facts cache: its directory (checked and prepared, see cache/cacheRoot.ts), the
   * extractor's fingerprint (`extractorFingerprint`), the user's cache key, and why the directory
   * could not be prepared, if it could not; null or absent: no cache.
   */
  cache?: { dir: string; fingerprint: string; key: Buffer; rootError?: string | null } | null;
  extract: ExtractOptions;
  onFile?: (done: number, total: number) => void;
  /** Test hook: times each file's budget instead of the wall clock (see `BudgetTimer`). */
  startBudget?: BudgetTimer;
}


export interface ExtractFilesResult {
  /** Facts of every file that could be read, in discovery order. */
  facts: FileFacts[];
  /** With a cache: each file's content key (see `contentKey`; the text's hash when readable), in discovery order. */
  contentKeys: string[];
  /** Each file's identity just before it was read (null when it could not be stat'ed), in discovery order. */
  identities: (FileIdentity | null)[];
  /** A file ran out of time or crashed its worker: the outcome may differ next time, so it is not a result to keep. */
  transient: boolean;
  /** Unreadable or skipped files and the syntax problems of read ones, in discovery order. */
  errors: FileError[];
  stats: ExtractionStats;
}

/** Text given rather than read (standard input), under the same size limit as a file. */
function givenSource(text: string, maxBytes: number): SourceRead {
  const size = Buffer.byteLength(text);
  if (size > maxBytes) return { ok: false, reason: `skipped: ${size} bytes is over the ${maxBytes}-byte file size limit (--max-file-size)`, identity: null };
  return { ok: true, text, identity: null };
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/** Yield to the event loop this often while reading, so finished workers get new files. */
const YIELD_EVERY_MS = 4;
/** Files read ahead per worker: enough to keep workers busy, few enough that sources are not all in memory at once. */
const READ_AHEAD_PER_WORKER = 8;

export async function extractFiles(files: readonly DiscoveredFile[], options: ExtractFilesOptions): Promise<ExtractFilesResult> {
  const jobs = options.jobs ?? defaultJobs();
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be a positive integer, not ${jobs}`);
  const timeoutMs = options.fileTimeoutMs ?? DEFAULT_FILE_TIMEOUT_MS;
  const cache = options.cache ? new FactsCache(options.cache.dir, options.cache.fingerprint, options.cache.key, options.cache.rootError ?? null) : null;
  const pool = new ExtractionPool({ size: jobs, timeoutMs, extract: options.extract, ...(options.startBudget ? { startBudget: options.startBudget } : {}) });
  const facts: (FileFacts | null)[] = new Array(files.length).fill(null);
  const errors: FileError[][] = Array.from({ length: files.length }, () => []);
  const contentKeys: string[] = new Array(files.length).fill("");
  const identities: (FileIdentity | null)[] = new Array(files.length).fill(null);
  let transient = false;
  const pending: Promise<void>[] = [];
  let done = 0;
  let parsed = 0;
  /** Set when the pool cannot run at all; the scan then fails as an internal error. */
  let failure: Error | null = null;
  const finished = () => options.onFile?.(++done, files.length);
  const accept = (index: number, fileFacts: FileFacts) => {
    facts[index] = fileFacts;
    for (const problem of fileFacts.problems) errors[index]!.push({ file: files[index]!.path, line: problem.line, message: problem.message });
  };

  try {
    let lastYield = performance.now();
    for (let index = 0; index < files.length && !failure; index++) {
      const file = files[index]!;
      const source = file.text !== undefined ? givenSource(file.text, options.maxFileBytes) : readSource(file.absolute, options.maxFileBytes);
      if (cache) contentKeys[index] = contentKey(source);
      identities[index] = source.identity;
      if (!source.ok) {
        errors[index]!.push({ file: file.path, message: source.reason });
        finished();
        continue;
      }
      const contentHash = contentKeys[index]!;
      const hit = cache?.lookup(file.absolute, file.path, contentHash);
      if (hit) {
        accept(index, hit);
        finished();
        continue;
      }
      pending.push(
        pool.extract(file.path, source.text, cache?.writable ?? false).then((outcome) => {
          parsed++;
          if (outcome.ok) {
            accept(index, outcome.facts);
            if (outcome.checksum !== null) cache?.store(file.absolute, file.path, contentHash, outcome.json, outcome.checksum);
          } else {
            transient = true;
            errors[index]!.push({ file: file.path, message: outcome.message });
          }
          finished();
        }, (error: Error) => {
          failure ??= error;
        }),
      );
      if (pool.queued >= jobs * READ_AHEAD_PER_WORKER) {
        await pool.waitForRoom(jobs * READ_AHEAD_PER_WORKER);
        lastYield = performance.now();
      } else if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await nextTurn();
        lastYield = performance.now();
      }
    }
    await Promise.all(pending);
    if (failure) throw failure;
    cache?.finish();
  } catch (error) {
    cache?.abandon();
    throw error;
  } finally {
    await pool.close();
  }
  return {
    facts: facts.filter((f): f is FileFacts => f !== null),
    contentKeys,
    identities,
    transient,
    errors: errors.flat(),
    stats: {
      parsed,
      cached: cache?.stats.hits ?? 0,
      cacheRejected: cache?.stats.rejected ?? 0,
      cacheWriteError: cache?.stats.writeError ?? null,
    },
  };
}
