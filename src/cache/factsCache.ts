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
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExtractOptions } from "../extract/extractFileFacts.js";
import type { FileFacts } from "../extract/facts.js";
import { BUILD_ROOT } from "../buildRoot.js";
import { TOOL_VERSION } from "../version.js";

const LAYOUT = "facts-v1";
/** Fingerprint directories kept besides the current one (other builds or other options). */
const KEEP_OTHER_FINGERPRINTS = 3;

export interface CacheStats {
  /** Entries used. */
  hits: number;
  /** Files with no usable entry. */
  misses: number;
  /** Entries found but not trusted (corrupt, truncated, wrong shape, made for other content). */
  rejected: number;
  /** Why the cache could not be written, if it could not (read-only or full disk, bad path). */
  writeError: string | null;
}

export class FactsCache {
  readonly stats: CacheStats = { hits: 0, misses: 0, rejected: 0, writeError: null };
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
      this.stats.writeError = describe(error);
    }
  }

  /** The hash that keys a file's content. */
  static contentHash(text: string): string {
    return createHash("sha256").update(text).digest("hex");
  }

  /** The cached facts for this file and content, or null. Never throws. */
  lookup(absolute: string, path: string, contentHash: string): FileFacts | null {
    if (this.empty) {
      this.stats.misses++;
      return null;
    }
    let raw: string;
    try {
      raw = readFileSync(this.entryPath(absolute), "utf8");
    } catch {
      this.stats.misses++;
      return null;
    }
    const facts = decodeEntry(raw, path, contentHash);
    if (facts === "stale") {
      this.stats.misses++;
      return null;
    }
    if (facts === null) {
      this.stats.rejected++;
      this.stats.misses++;
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
    const name = createHash("sha256").update(absolute).digest("hex").slice(0, 40);
    return join(this.dir, name.slice(0, 2), `${name}.json`);
  }
}

/** Writes one entry (from a worker); returns why it could not, or null. Never throws. */
export function writeEntry(target: string, contentHash: string, facts: FileFacts): string | null {
  const temporary = `${target}.${randomUUID()}.tmp`;
  try {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(temporary, encodeEntry(facts, contentHash));
    renameSync(temporary, target);
    return null;
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing was written.
    }
    return describe(error);
  }
}

interface EntryHeader {
  content: string;
  path: string;
  body: string;
}

function encodeEntry(facts: FileFacts, contentHash: string): string {
  const body = JSON.stringify(facts);
  const header: EntryHeader = { content: contentHash, path: facts.path, body: checksum(body) };
  return `${JSON.stringify(header)}\n${body}`;
}

/** Facts, "stale" (a sound entry made for other content or another path), or null (not trusted). */
function decodeEntry(raw: string, path: string, contentHash: string): FileFacts | "stale" | null {
  const newline = raw.indexOf("\n");
  if (newline < 0) return null;
  let header: Partial<EntryHeader>;
  try {
    header = JSON.parse(raw.slice(0, newline)) as Partial<EntryHeader>;
  } catch {
    return null;
  }
  if (typeof header !== "object" || header === null || typeof header.content !== "string" || typeof header.body !== "string") return null;
  if (header.content !== contentHash || header.path !== path) return "stale";
  const body = raw.slice(newline + 1);
  if (checksum(body) !== header.body) return null;
  let facts: unknown;
  try {
    facts = JSON.parse(body);
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

function checksum(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Identifies the extractor: tool version, the compiled code of the extract and parse stages,
 * the grammar, and the extraction options. Any change gives a new fingerprint, so entries made
 * by another build are never read.
 */
export function extractorFingerprint(options: ExtractOptions): string {
  const hash = createHash("sha256");
  hash.update(`${TOOL_VERSION}\n`);
  for (const stage of ["extract/", "parse/"]) {
    const dir = fileURLToPath(new URL(stage, BUILD_ROOT));
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (!statSync(file).isFile()) continue;
      hash.update(`${stage}${name}\n`).update(readFileSync(file));
    }
  }
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
  const others = readdirSync(layoutDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== current)
    .map((e) => ({ name: e.name, used: statSync(join(layoutDir, e.name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const stale of others.slice(KEEP_OTHER_FINGERPRINTS)) rmSync(join(layoutDir, stale.name), { recursive: true, force: true });
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.path ?? ""}`.trim() : String(error);
}
