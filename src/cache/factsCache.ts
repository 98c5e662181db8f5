/**
 * The facts cache: a file's `FileFacts` stored on disk, reused when the file's content, the
 * extractor (tool version and the code of the extract and parse stages) and the extraction
 * options are all unchanged. An entry is checked before it is trusted: a header naming the
 * content hash and path it was made for, and a checksum of its body; anything that does not
 * match, parse or look like facts is a miss, and the entry is rewritten.
 *
 * Layout: DIR/facts-v1/<extractor fingerprint>/<2 hex>/<hash of the absolute path>.json, one
 * entry per source file (overwritten when the file changes, so the cache does not grow with
 * edits). Entries are written by the extraction workers, to a temporary file then renamed, so
 * concurrent scans never see half an entry. Old fingerprints (other builds, other options) are pruned, keeping a few.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { ExtractOptions } from "../extract/extractFileFacts.js";
import type { FileFacts } from "../extract/facts.js";
import { TOOL_VERSION } from "../version.js";
import { bodyIntact, describeError, hashBuildFolders, keepNewest, sealEntry, sha256, splitEntry, writeAtomically } from "./entryFile.js";

const LAYOUT = "facts-v1";
/** Fingerprint directories kept besides the current one (other builds or other options). */
const KEEP_OTHER_FINGERPRINTS = 3;

export interface CacheStats {
  /** Entries used. */
  hits: number;
  /** Entries found but not trusted (corrupt, truncated, wrong shape, made for other content). */
  rejected: number;
  /** Why the cache could not be written, if it could not (read-only or full disk, bad path). */
  writeError: string | null;
}

export class FactsCache {
  readonly stats: CacheStats = { hits: 0, rejected: 0, writeError: null };
  private readonly dir: string;
  /** The fingerprint's directory did not exist: every lookup misses, without a failed open each. */
  private readonly empty: boolean;

  constructor(root: string, fingerprint: string) {
    this.dir = join(root, LAYOUT, fingerprint);
    this.empty = !existsSync(this.dir);
    try {
      prepareRoot(root);
      mkdirSync(this.dir, { recursive: true });
      const now = new Date();
      utimesSync(this.dir, now, now);
      pruneFingerprints(join(root, LAYOUT), fingerprint);
    } catch (error) {
      this.stats.writeError = describeError(error);
    }
  }

  /** The hash that keys a file's content. */
  static contentHash(text: string): string {
    return sha256(text);
  }

  /** The cached facts for this file and content, or null. Never throws. */
  lookup(absolute: string, path: string, contentHash: string): FileFacts | null {
    if (this.empty) return null;
    let raw: string;
    try {
      raw = readFileSync(this.entryPath(absolute), "utf8");
    } catch {
      return null;
    }
    const facts = decodeEntry(raw, path, contentHash);
    if (facts === "stale") return null;
    if (facts === null) {
      this.stats.rejected++;
      return null;
    }
    this.stats.hits++;
    return facts;
  }

  /** Records that an entry could not be written; no more entries are offered for writing. */
  noteWriteError(error: string): void {
    this.stats.writeError ??= error;
  }

  get writable(): boolean {
    return this.stats.writeError === null;
  }

  /** Where the entry for this file lives; workers write it (see `writeEntry`). */
  entryPath(absolute: string): string {
    const name = sha256(absolute).slice(0, 40);
    return join(this.dir, name.slice(0, 2), `${name}.json`);
  }
}

/** Writes one entry (from a worker): the facts of `path`, as JSON. Returns why it could not, or null. Never throws. */
export function writeEntry(target: string, contentHash: string, path: string, factsJson: string): string | null {
  return writeAtomically(target, sealEntry({ content: contentHash, path }, factsJson));
}

/** Facts, "stale" (a sound entry made for other content or another path), or null (not trusted). */
function decodeEntry(raw: string, path: string, contentHash: string): FileFacts | "stale" | null {
  const entry = splitEntry(raw);
  if (!entry || typeof entry.header.content !== "string" || typeof entry.header.body !== "string") return null;
  if (entry.header.content !== contentHash || entry.header.path !== path) return "stale";
  if (!bodyIntact(entry.header, entry.body)) return null;
  let facts: unknown;
  try {
    facts = JSON.parse(entry.body);
  } catch {
    return null;
  }
  return looksLikeFacts(facts, path) ? facts : null;
}

/** The shape the later stages rely on; the checksum already rules out accidental damage. */
function looksLikeFacts(value: unknown, path: string): value is FileFacts {
  if (typeof value !== "object" || value === null) return false;
  const facts = value as Record<string, unknown>;
  return (
    facts.path === path &&
    typeof facts.lines === "number" &&
    typeof facts.requestCode === "boolean" &&
    typeof facts.imports === "object" && facts.imports !== null &&
    ["classes", "functions", "models", "mutatedFields", "problems", "directives"].every((key) => Array.isArray(facts[key]))
  );
}

/**
 * Identifies the extractor: tool version, the compiled code of the extract and parse stages,
 * the grammar, and the extraction options. Any change gives a new fingerprint, so entries made
 * by another build are never read.
 */
export function extractorFingerprint(options: ExtractOptions): string {
  const hash = createHash("sha256");
  hash.update(`${TOOL_VERSION}\n`);
  hashBuildFolders(hash, ["extract", "parse"]);
  const require = createRequire(import.meta.url);
  for (const asset of ["tree-sitter-python/tree-sitter-python.wasm", "web-tree-sitter/web-tree-sitter.wasm"]) {
    try {
      hash.update(asset).update(readFileSync(require.resolve(asset)));
    } catch {
      hash.update(`${asset}:unresolved`);
    }
  }
  hash.update(JSON.stringify({ transactionNames: [...(options.transactionNames ?? [])].sort() }));
  return hash.digest("hex").slice(0, 24);
}

/** Marks the directory as a cache: ignored by git and by backup tools that honour CACHEDIR.TAG. */
function prepareRoot(root: string): void {
  mkdirSync(root, { recursive: true });
  const gitignore = join(root, ".gitignore");
  if (!existsSync(gitignore)) writeFileSync(gitignore, "# Created by stalecheck: this directory is a cache.\n*\n");
  const tag = join(root, "CACHEDIR.TAG");
  if (!existsSync(tag)) {
    writeFileSync(tag, "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by stalecheck.\n");
  }
}

function pruneFingerprints(layoutDir: string, current: string): void {
  const others = readdirSync(layoutDir, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== current).map((e) => e.name);
  keepNewest(layoutDir, others, KEEP_OTHER_FINGERPRINTS);
}
