/**
 * The facts cache: a file's `FileFacts` stored on disk, reused when the file's content, the
 * extractor (tool version and the code of the extract and parse stages) and the extraction
 * options are all unchanged. An entry is checked before it is trusted: the content hash and
 * path it was made for, and a checksum of its body, which the pack's index holds; the index is
 * sealed with an HMAC under the user's cache key (see cacheKey.ts), so a pack this user's
 * stalecheck did not write (one committed to the scanned repository) is never read. Anything that
 * does not match, parse or look like facts is a miss, and the file's facts are stored again.
 *
 * Layout: DIR/facts-v3/<extractor fingerprint>/<random>.pack. A scan appends the facts it
 * extracted to one new pack and seals it with an index, so a cold scan of 6,500 files writes one
 * file instead of 6,500 (a file per entry cost the 1M-line benchmark 3 s of kernel time). A pack
 * is written under a temporary name and renamed once sealed, so readers never see half of one;
 * concurrent scans each write their own (one killed mid-scan leaves a `.pack.tmp`, removed a
 * day later). A file's entry for its current content is looked for from the newest pack to the
 * oldest. When packs pile up, or superseded entries outweigh the live ones, the live entries
 * (the one each file of the scan used, and for other files that still exist the newest) are
 * copied into one pack and the others are deleted; so they are after a damaged entry was
 * found, which leaves it behind. Old fingerprints (other builds, other
 * options) are pruned, keeping a few. The directory may be in a scanned tree: every step goes
 * through safeFs.ts (no links followed, no FIFO opened, only regular files and real
 * directories deleted).
 *
 * A pack: the entries' JSON bodies, back to back; the index, JSON; then a footer line
 * `stalecheck-pack <index offset> <index bytes> <seal>`, the seal an HMAC of the fingerprint,
 * the offset, the length and the index.
 */
import { createHash, randomUUID } from "node:crypto";
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readFileSync, readSync, readdirSync, renameSync, utimesSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { ExtractOptions } from "../extract/extractFileFacts.js";
import type { FileFacts } from "../extract/facts.js";
import { TOOL_VERSION } from "../version.js";
import { hashBuildFolders, keepNewest, keyedDigest, sealMatches, sha256 } from "./entryFile.js";
import { closeQuietly, createExclusive, describeError, ensureDirectory, isRealDirectory, openRegularFile, removeIf, writeAll } from "./safeFs.js";

const LAYOUT = "facts-v3";
/** Layouts of earlier versions, removed when found (if they are real directories, not links). */
const OLD_LAYOUTS = ["facts-v1", "facts-v2"];
/** Fingerprint directories kept besides the current one (other builds or other options). */
const KEEP_OTHER_FINGERPRINTS = 3;
/** More packs than this, and the live entries are gathered into one. */
const MAX_PACKS = 16;
/** Superseded bytes beyond the live ones times this (plus a margin), and likewise. */
const GARBAGE_RATIO = 1;
const GARBAGE_MARGIN_BYTES = 1 << 20;
/** A `.pack.tmp` this old is left by a scan that was killed: removed. */
const ORPHAN_AGE_MS = 24 * 3600 * 1000;
/** Appended bodies are written in chunks of about this size. */
const WRITE_CHUNK_BYTES = 1 << 20;
const FOOTER = /stalecheck-pack (\d+) (\d+) ([0-9a-f]{64})\n$/;
const FOOTER_MAX_BYTES = 128;

export interface CacheStats {
  /** Entries used. */
  hits: number;
  /** Entries found but not trusted (corrupt, wrong shape), and packs whose index could not be read. */
  rejected: number;
  /** Why the cache could not be written, if it could not (read-only or full disk, bad path). */
  writeError: string | null;
}

/** An index entry: [absolute path, relative path, content hash, body offset, body bytes, body sha256]. */
type IndexEntry = [string, string, string, number, number, string];

interface Located {
  pack: Pack;
  entry: IndexEntry;
}

interface Pack {
  file: string;
  fd: number;
  /** Bytes of bodies, live or superseded. */
  bodyBytes: number;
}

export class FactsCache {
  readonly stats: CacheStats = { hits: 0, rejected: 0, writeError: null };
  private readonly dir: string;
  private readonly packs: Pack[] = [];
  /** The entries for each absolute path, newest pack first. */
  private readonly entries = new Map<string, Located[]>();
  /** The entry each file used or stored in this scan: the one compaction keeps. */
  private readonly used = new Map<string, Located>();
  private writer: PackWriter | null = null;
  /** Set by `finish` and `abandon`: the packs are closed. */
  private closed = false;

  /**
   * `root`: the cache directory, checked and prepared (`cacheRootProblem`, `prepareCacheRoot`);
   * `rootError`: why it could not be prepared, if it could not (the cache is then not written).
   * `key`: the user's cache key, which seals each pack's index.
   */
  constructor(root: string, private readonly fingerprint: string, private readonly key: Buffer, rootError: string | null = null) {
    const layout = join(root, LAYOUT);
    this.dir = join(layout, fingerprint);
    this.stats.writeError = rootError;
    if (this.writable) {
      try {
        for (const old of OLD_LAYOUTS) removeIf(join(root, old), "directory");
        ensureDirectory(layout);
        ensureDirectory(this.dir);
        const now = new Date();
        utimesSync(this.dir, now, now);
      } catch (error) {
        this.stats.writeError = describeError(error);
      }
    }
    // Packs are read only from a real directory inside real directories, never through a link.
    if (!isRealDirectory(root) || !isRealDirectory(layout) || !isRealDirectory(this.dir)) return;
    if (this.writable) {
      try {
        pruneFingerprints(layout, fingerprint);
      } catch {
        // Another scan pruning at the same time; the current fingerprint is unaffected.
      }
    }
    this.readPacks();
  }

  /** The cached facts for this file and content, or null. Never throws. */
  lookup(absolute: string, path: string, contentHash: string): FileFacts | null {
    if (this.closed) return null;
    for (const located of this.entries.get(absolute) ?? []) {
      const [, entryPath, content, offset, length, checksum] = located.entry;
      // An entry made for other content (the file changed since) or another path: not this one.
      if (content !== contentHash || entryPath !== path) continue;
      const facts = readBody(located.pack, offset, length, checksum, path);
      if (facts === null) {
        this.stats.rejected++;
        continue;
      }
      this.stats.hits++;
      this.used.set(absolute, located);
      return facts;
    }
    return null;
  }

  get writable(): boolean {
    return this.stats.writeError === null;
  }

  /** Records that the cache could not be written; nothing more is stored. */
  noteWriteError(error: string): void {
    this.stats.writeError ??= error;
    this.writer?.abandon();
    this.writer = null;
  }

  /** Stores a file's facts (their JSON, as the worker wrote it, and its sha256) in this scan's pack. */
  store(absolute: string, path: string, contentHash: string, factsJson: string, checksum: string): void {
    if (!this.writable || this.closed) return;
    try {
      this.writer ??= new PackWriter(this.dir, this.fingerprint, this.key);
      this.writer.add(absolute, path, contentHash, factsJson, checksum);
    } catch (error) {
      this.noteWriteError(describeError(error));
    }
  }

  /**
   * Seals this scan's pack, gathers the live entries into one pack when the old ones have piled
   * up, and closes the packs. Never throws; a failure is kept in `stats.writeError`.
   */
  finish(): void {
    if (this.closed) return;
    try {
      if (this.writer) {
        const sealed = this.writer.seal();
        this.writer = null;
        for (const entry of sealed.entries) {
          this.remember(sealed.pack, entry);
          this.used.set(entry[0], { pack: sealed.pack, entry });
        }
        this.packs.push(sealed.pack);
      }
      // A cache deleted during the scan stays deleted: its open packs are not copied back.
      if (this.writable && isRealDirectory(this.dir) && this.needsCompaction()) this.compact();
    } catch (error) {
      this.writer?.abandon();
      this.writer = null;
      this.stats.writeError ??= describeError(error);
    } finally {
      this.close();
    }
  }

  /** Drops this scan's unsealed pack and closes the packs: for a scan that failed. */
  abandon(): void {
    this.writer?.abandon();
    this.writer = null;
    this.close();
  }

  private close(): void {
    this.closed = true;
    for (const pack of this.packs.splice(0)) closeQuietly(pack.fd);
    this.entries.clear();
    this.used.clear();
  }

  /** Reads every pack's index, oldest first, so that each file's entries end up newest first. */
  private readPacks(): void {
    let all: string[];
    try {
      all = readdirSync(this.dir);
    } catch {
      return;
    }
    if (this.writable) this.removeOrphans(all.filter((n) => n.endsWith(".pack.tmp")));
    const names = all.filter((n) => n.endsWith(".pack"));
    const dated = names.flatMap((name) => {
      try {
        const stat = lstatSync(join(this.dir, name));
        // A link, a FIFO or a directory named like a pack is no pack: never opened, never removed.
        return stat.isFile() ? [{ name, at: stat.mtimeMs }] : [];
      } catch {
        return []; // Removed by a concurrent scan's compaction.
      }
    });
    dated.sort((a, b) => a.at - b.at || (a.name < b.name ? -1 : 1));
    for (const { name } of dated) {
      const file = join(this.dir, name);
      let fd: number;
      try {
        fd = openRegularFile(file);
      } catch {
        continue;
      }
      const index = readIndex(fd, this.fingerprint, this.key);
      if (!index) {
        // Packs are renamed into place only once sealed, so this one is damaged, or was not
        // written with this user's key: remove it.
        this.stats.rejected++;
        closeQuietly(fd);
        if (this.writable) removeIf(file, "file");
        continue;
      }
      const pack: Pack = { file, fd, bodyBytes: index.bodyBytes };
      this.packs.push(pack);
      for (const entry of index.entries) this.remember(pack, entry);
    }
  }

  /** Removes the unsealed packs of scans that were killed (a live scan's is younger). */
  private removeOrphans(names: readonly string[]): void {
    for (const name of names) {
      const file = join(this.dir, name);
      try {
        if (Date.now() - lstatSync(file).mtimeMs > ORPHAN_AGE_MS) removeIf(file, "file");
      } catch {
        // Sealed or removed meanwhile.
      }
    }
  }

  private remember(pack: Pack, entry: IndexEntry): void {
    const known = this.entries.get(entry[0]);
    if (known) known.unshift({ pack, entry });
    else this.entries.set(entry[0], [{ pack, entry }]);
  }

  private needsCompaction(): boolean {
    // A damaged entry was passed over: rewriting the live entries leaves it behind.
    if (this.stats.rejected > 0) return true;
    if (this.packs.length <= 1) return false;
    if (this.packs.length > MAX_PACKS) return true;
    let live = 0;
    for (const [absolute, [newest]] of this.entries) live += (this.used.get(absolute) ?? newest!).entry[4];
    const total = this.packs.reduce((n, p) => n + p.bodyBytes, 0);
    return total - live > GARBAGE_RATIO * live + GARBAGE_MARGIN_BYTES;
  }

  /**
   * Copies the live entries into one new pack, then deletes the packs it replaces. Live: the
   * entry each file of this scan used or stored; for files outside this scan (another path
   * scanned with the same cache) that still exist, the newest intact entry.
   */
  private compact(): void {
    const writer = new PackWriter(this.dir, this.fingerprint, this.key);
    try {
      for (const [absolute, located] of this.entries) {
        const used = this.used.get(absolute);
        const candidates = used ? [used] : existsSync(absolute) ? located : [];
        for (const { pack, entry } of candidates) {
          const [, path, content, offset, length, checksum] = entry;
          const body = readChecked(pack.fd, offset, length, checksum);
          if (body === null) continue;
          writer.add(absolute, path, content, body, checksum);
          break;
        }
      }
      closeQuietly(writer.seal().pack.fd);
    } catch (error) {
      writer.abandon();
      throw error;
    }
    // Already gone when a concurrent scan compacted too.
    for (const pack of this.packs) removeIf(pack.file, "file");
  }
}

/** Appends bodies to `<random>.pack.tmp`; `seal` writes the index and renames it to `.pack`. */
class PackWriter {
  private readonly temporary: string;
  /** -1 once closed. */
  private fd: number;
  private readonly entries: IndexEntry[] = [];
  private chunk: string[] = [];
  private chunkBytes = 0;
  private offset = 0;

  constructor(dir: string, private readonly fingerprint: string, private readonly key: Buffer) {
    this.temporary = join(dir, `${randomUUID()}.pack.tmp`);
    // Throws when the directory went (the cache was deleted during the scan): nothing is stored.
    this.fd = createExclusive(this.temporary);
  }

  add(absolute: string, path: string, contentHash: string, body: string, checksum: string): void {
    const bytes = Buffer.byteLength(body);
    this.entries.push([absolute, path, contentHash, this.offset, bytes, checksum]);
    this.offset += bytes;
    this.chunk.push(body);
    this.chunkBytes += bytes;
    if (this.chunkBytes >= WRITE_CHUNK_BYTES) this.flush();
  }

  seal(): { pack: Pack; entries: IndexEntry[] } {
    const index = JSON.stringify(this.entries);
    const length = Buffer.byteLength(index);
    this.chunk.push(index, `\nstalecheck-pack ${this.offset} ${length} ${indexSeal(this.key, this.fingerprint, this.offset, length, index)}\n`);
    this.flush();
    const fd = this.fd;
    this.fd = -1;
    closeSync(fd);
    const file = this.temporary.slice(0, -".tmp".length);
    renameSync(this.temporary, file);
    return { pack: { file, fd: openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)), bodyBytes: this.offset }, entries: this.entries };
  }

  abandon(): void {
    if (this.fd >= 0) closeQuietly(this.fd);
    this.fd = -1;
    removeIf(this.temporary, "file");
  }

  private flush(): void {
    if (this.chunk.length === 0) return;
    // A short write (a nearly full disk) must not leave the offsets in the index wrong.
    writeAll(this.fd, Buffer.from(this.chunk.join("")), this.temporary);
    this.chunk = [];
    this.chunkBytes = 0;
  }
}

/** The seal of a pack's index: binds it to its place in the pack and to the fingerprint directory. */
function indexSeal(key: Buffer, fingerprint: string, offset: number, length: number, index: string): string {
  return keyedDigest(key, "facts-pack", fingerprint, String(offset), String(length), index);
}

/** A pack's index and the bytes of its bodies, or null when the footer or index is damaged or not sealed with `key`. */
function readIndex(fd: number, fingerprint: string, key: Buffer): { entries: IndexEntry[]; bodyBytes: number } | null {
  try {
    const size = fstatSync(fd).size;
    const tailBytes = Math.min(size, FOOTER_MAX_BYTES);
    const tail = Buffer.alloc(tailBytes);
    readSync(fd, tail, 0, tailBytes, size - tailBytes);
    const footer = FOOTER.exec(tail.toString("latin1"));
    if (!footer) return null;
    const offset = Number(footer[1]);
    const length = Number(footer[2]);
    if (offset + length > size) return null;
    const text = readText(fd, offset, length);
    if (text === null || !sealMatches(footer[3], indexSeal(key, fingerprint, offset, length, text))) return null;
    const entries: unknown = JSON.parse(text);
    if (!Array.isArray(entries) || !entries.every((e) => isIndexEntry(e, offset))) return null;
    return { entries: entries as IndexEntry[], bodyBytes: offset };
  } catch {
    return null;
  }
}

function isIndexEntry(value: unknown, bodyBytes: number): boolean {
  if (!Array.isArray(value) || value.length !== 6) return false;
  const [absolute, path, content, offset, length, checksum] = value as unknown[];
  return typeof absolute === "string" && typeof path === "string" && typeof content === "string" && typeof checksum === "string" &&
    Number.isInteger(offset) && Number.isInteger(length) && (offset as number) >= 0 && (length as number) >= 0 && (offset as number) + (length as number) <= bodyBytes;
}

/** The UTF-8 text at `offset` (an entry's body, a pack's index), or null when it cannot be read whole. */
function readText(fd: number, offset: number, length: number): string | null {
  try {
    const bytes = Buffer.alloc(length);
    if (readSync(fd, bytes, 0, length, offset) !== length) return null;
    return bytes.toString("utf8");
  } catch {
    return null;
  }
}

/**
 * An entry's body if its sha256 is the checksum the index gives, else null. A plain hash is
 * enough here: the index that holds it is sealed with the user's key.
 */
function readChecked(fd: number, offset: number, length: number, checksum: string): string | null {
  const text = readText(fd, offset, length);
  return text !== null && sha256(text) === checksum ? text : null;
}

/** An entry's facts, or null when the body is damaged or is not facts for `path`. */
function readBody(pack: Pack, offset: number, length: number, checksum: string, path: string): FileFacts | null {
  const text = readChecked(pack.fd, offset, length, checksum);
  if (text === null) return null;
  let facts: unknown;
  try {
    facts = JSON.parse(text);
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

function pruneFingerprints(layoutDir: string, current: string): void {
  const others = readdirSync(layoutDir).filter((name) => name !== current);
  keepNewest(layoutDir, others, KEEP_OTHER_FINGERPRINTS, "directory");
}
