/**
 * The result cache: the analysis of a whole tree (findings before per-file ignores, baselines and
 * --changed-since; file errors; endpoints), reused when every file's content, the file list, the
 * tool's code and the options that shape the analysis are unchanged. A warm re-scan of an
 * unchanged tree then checks the files and stops there: no parse, no facts, no rules.
 *
 * Each file is keyed by the hash of its decoded text, or by why it cannot be read, exactly as the
 * extraction stage saw it; a file that changed in the middle of a scan therefore never matches a
 * result made from its other content. Re-hashing every file is skipped, as git does, for a file
 * whose size, modification and change times and inode are those it had just before that read,
 * unless it changed less than RACY_MS before that scan began, or during it (a later edit in the
 * same clock tick would leave them unchanged): such a file is read and hashed again. An entry is checked
 * before it is trusted (its key, and its body's seal: an HMAC under the user's cache key, so an
 * entry that was not written by this user's stalecheck, such as one committed to the scanned
 * repository, is a miss); anything else is a miss, and the entry is rewritten after the scan.
 *
 * Layout: DIR/results-v2/<key>.json, one entry per scan root and set of options, the most recently
 * used few kept. Only regular files are read or pruned there, and only if `results-v2` is a real
 * directory, not a link.
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import type { DiscoveredFile } from "../discover/discover.js";
import { type FileIdentity, type SourceRead, identityOf, readSource } from "../discover/readSource.js";
import type { Endpoint } from "../core/endpoint.js";
import type { FileError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import { bodyIntact, hashBuildFolders, keepNewest, sealEntry, sha256, splitEntry } from "./entryFile.js";
import { describeError, ensureDirectory, isRealDirectory, readRegularFile, removeIf, writeAtomically } from "./safeFs.js";

const LAYOUT = "results-v2";
/** Layouts of earlier versions, removed when found (if they are real directories, not links). */
const OLD_LAYOUTS = ["results-v1"];
/** A file changed this close to the scan start is hashed again rather than trusted by its stat. */
export const RACY_MS = 3000;
/** Entries kept: other roots, other options, other builds. */
const KEEP_ENTRIES = 8;

/** What a scan computes from its files, before narrowing by per-file ignores, revision or baseline. */
export interface Analysis {
  findings: Finding[];
  /** Per-file read and syntax errors (not discovery errors, which are recomputed each scan). */
  fileErrors: FileError[];
  endpoints: Endpoint[];
  settingsFiles: string[];
  functions: number;
  /** Files that import Django or Django REST Framework (absent in entries of older builds). */
  djangoFiles?: number;
}

interface Entry {
  /** When the scan that made the entry began (epoch ms). */
  startedAt: number;
  /** Per file, in discovery order: path, content key, and identity (`FileIdentity.key`) just before it was read. */
  files: [string, string, string | null][];
  analysis: Analysis;
}

/** The key of one file's content as the scan read it: the text's hash, or why it cannot be read. */
export function contentKey(source: SourceRead): string {
  return source.ok ? sha256(source.text) : `unreadable: ${source.reason}`;
}

export class ResultCache {
  readonly key: string;
  private readonly path: string;

  /**
   * `scope` names everything besides file contents and this build's code that the analysis
   * depends on: the scan root, the options, the extractor's fingerprint (grammar included).
   */
  constructor(private readonly root: string, private readonly sealKey: Buffer, scope: unknown, private readonly racyMs = RACY_MS) {
    this.key = createHash("sha256").update(codeFingerprint()).update(JSON.stringify(scope)).digest("hex").slice(0, 32);
    this.path = join(root, LAYOUT, `${this.key}.json`);
  }

  /** The stored analysis if every file still has the content it was made from; never throws. */
  lookup(files: readonly DiscoveredFile[], maxFileBytes: number): Analysis | null {
    if (!isRealDirectory(this.root) || !isRealDirectory(join(this.root, LAYOUT))) return null;
    let raw: string;
    try {
      raw = readRegularFile(this.path).bytes.toString("utf8");
    } catch {
      return null;
    }
    const entry = this.decode(raw);
    if (!entry || entry.files.length !== files.length) return null;
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      const [path, key, identity] = entry.files[i]!;
      if (path !== file.path) return null;
      if (identity !== null && unchangedSince(file.absolute, identity, entry.startedAt - this.racyMs)) continue;
      if (key !== contentKey(readSource(file.absolute, maxFileBytes))) return null;
    }
    try {
      const now = new Date();
      if (lstatSync(this.path).isFile()) utimesSync(this.path, now, now);
    } catch {
      // Only the pruning order depends on it.
    }
    return entry.analysis;
  }

  /**
   * Stores an analysis; returns why it could not, or null. Never throws. `startedAt` is when the
   * scan began, before any file was read; keys and identities are per file, in discovery order.
   */
  store(files: readonly DiscoveredFile[], startedAt: number, contentKeys: readonly string[], identities: readonly (FileIdentity | null)[], analysis: Analysis): string | null {
    const entry: Entry = { startedAt, files: files.map((f, i) => [f.path, contentKeys[i]!, identities[i]?.key ?? null]), analysis };
    const layout = join(this.root, LAYOUT);
    try {
      if (!isRealDirectory(this.root)) throw new Error(`${this.root} is not a directory`);
      for (const old of OLD_LAYOUTS) removeIf(join(this.root, old), "directory");
      ensureDirectory(layout);
    } catch (error) {
      return describeError(error);
    }
    const error = writeAtomically(this.path, sealEntry(this.sealKey, { key: this.key }, JSON.stringify(entry)));
    if (error) return error;
    try {
      prune(layout);
      return null;
    } catch (pruneError) {
      return describeError(pruneError);
    }
  }

  private decode(raw: string): Entry | null {
    const split = splitEntry(raw);
    if (!split || split.header.key !== this.key || !bodyIntact(this.sealKey, this.key, split.header, split.body)) return null;
    try {
      const entry = JSON.parse(split.body) as Entry;
      const a = entry?.analysis;
      const sound = typeof entry?.startedAt === "number" && Array.isArray(entry.files) && a && [a.findings, a.fileErrors, a.endpoints, a.settingsFiles].every(Array.isArray) && typeof a.functions === "number";
      return sound ? entry : null;
    } catch {
      return null;
    }
  }
}

/** Does the file still have the identity it had when it was read, and had it since before `before`? */
function unchangedSince(absolute: string, identity: string, before: number): boolean {
  try {
    const now = identityOf(statSync(absolute));
    return now.key === identity && now.changedMs < before;
  } catch {
    return false;
  }
}

function prune(dir: string): void {
  keepNewest(dir, readdirSync(dir).filter((name) => name.endsWith(".json")), KEEP_ENTRIES, "file");
}

let fingerprint: string | undefined;

/**
 * The code a result depends on besides the extractor, whose fingerprint the caller puts in the
 * scope: discovery, the project, analysis and rule stages, and the scan driver. Any other build
 * gives another key, so results made by it are never read.
 */
function codeFingerprint(): string {
  if (fingerprint) return fingerprint;
  const hash = createHash("sha256");
  hashBuildFolders(hash, ["core", "discover", "project", "analysis", "rules", "run"]);
  fingerprint = hash.digest("hex");
  return fingerprint;
}
