/** Reads a Python source file into text, or says clearly why it cannot be scanned. */
import { type Stats, readFileSync, statSync } from "node:fs";
import { fileKind, formatBytes } from "./regularFile.js";

/** What `stat` says about a file: size, modification and change times, inode. */
export interface FileIdentity {
  key: string;
  /** The later of its modification and status-change times, in epoch milliseconds. */
  changedMs: number;
}

/**
 * A read source, with the identity the file had just before it was read (null when it could
 * not be stat'ed): an identity that is still the same later means the same content, unless the
 * file changed within the clock's resolution of that stat (see the result cache).
 */
export type SourceRead = ({ ok: true; text: string } | { ok: false; reason: string }) & { identity: FileIdentity | null };

export function identityOf(stat: Stats): FileIdentity {
  return { key: `${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.ino}`, changedMs: Math.max(stat.mtimeMs, stat.ctimeMs) };
}

const CODING_COOKIE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;
const LATIN1 = new Set(["latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1", "cp1252", "windows-1252"]);

export function readSource(absolute: string, maxBytes: number): SourceRead {
  let stat: Stats;
  try {
    stat = statSync(absolute);
  } catch (error) {
    return { ok: false, reason: `cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, identity: null };
  }
  const read = readStatted(absolute, stat, maxBytes);
  return { ...read, identity: identityOf(stat) };
}

function readStatted(absolute: string, stat: Stats, maxBytes: number): { ok: true; text: string } | { ok: false; reason: string } {
  // Reading a FIFO blocks until a writer comes, and a device may never end: never read them.
  if (!stat.isFile()) return { ok: false, reason: `cannot read file: not a regular file (${fileKind(stat)})` };
  const size = stat.size;
  if (size > maxBytes) {
    return { ok: false, reason: `skipped: ${formatBytes(size)} is over the ${formatBytes(maxBytes)} file size limit (--max-file-size)` };
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolute);
  } catch (error) {
    return { ok: false, reason: `cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  if (bytes.includes(0)) return { ok: false, reason: "skipped: binary file (contains NUL bytes), not Python source" };
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  const body = bytes.subarray(start);
  // PEP 263: a coding cookie on line 1 or 2 may declare a non-UTF-8 encoding.
  const head = body.subarray(0, 400).toString("latin1").split(/\r\n|\r|\n/).slice(0, 2);
  const cookie = head.map((l) => CODING_COOKIE.exec(l)?.[1]?.toLowerCase()).find(Boolean);
  if (cookie && LATIN1.has(cookie)) return { ok: true, text: new TextDecoder(cookie.startsWith("cp") || cookie.startsWith("windows") ? "windows-1252" : "latin1").decode(body) };
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(body) };
  } catch {
    const offset = firstInvalidUtf8(body);
    return { ok: false, reason: `skipped: not valid UTF-8 (first bad byte at offset ${offset}) and no PEP 263 coding declaration` };
  }
}

function firstInvalidUtf8(bytes: Buffer): number {
  let low = 0;
  let high = bytes.length;
  // Binary search for the shortest invalid prefix.
  while (low < high) {
    const mid = (low + high) >> 1;
    try {
      // Streaming mode tolerates a sequence cut at the end, so only real errors throw.
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid + 1), { stream: true });
      low = mid + 1;
    } catch {
      high = mid;
    }
  }
  return low;
}
