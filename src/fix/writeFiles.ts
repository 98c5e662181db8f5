/**
 * Writes fixed sources back: only a regular file the scan read (never through a symbolic
 * link), only when it still holds the text the fixes were computed from, in its own encoding
 * (a UTF-8 byte order mark kept, a Latin-1 coding cookie honoured), through a temporary file in
 * the same directory and a rename, with the original's permissions.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { readSource } from "../discover/readSource.js";

const CODING_COOKIE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;
const LATIN1 = new Set(["latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1", "cp1252", "windows-1252"]);

/** The bytes of `text` in the encoding `original` (the file's current bytes) uses; null when `text` cannot be written in it. */
export function encodeLike(original: Buffer, text: string): Buffer | null {
  const bom = original[0] === 0xef && original[1] === 0xbb && original[2] === 0xbf;
  const head = original.subarray(bom ? 3 : 0, 400).toString("latin1").split(/\r\n|\r|\n/).slice(0, 2);
  const cookie = head.map((l) => CODING_COOKIE.exec(l)?.[1]?.toLowerCase()).find(Boolean);
  if (cookie && LATIN1.has(cookie)) {
    // Fixes only add ASCII, but a file's own text may hold cp1252 characters outside Latin-1.
    if (/[^\u0000-\u00ff]/.test(text)) return null;
    return Buffer.from(text, "latin1");
  }
  const body = Buffer.from(text, "utf8");
  return bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
}

/** Writes `fixed` over `absolute` if it still holds `original`; returns why not otherwise. */
export function writeFixedFile(absolute: string, original: string, fixed: string, maxBytes: number): string | null {
  let stat;
  try {
    stat = lstatSync(absolute);
  } catch (error) {
    return `cannot read it any more (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  if (stat.isSymbolicLink()) return "it is a symbolic link, which --fix does not write through";
  if (!stat.isFile()) return "it is not a regular file any more";
  const current = readSource(absolute, Math.max(maxBytes, stat.size));
  if (!current.ok || current.text !== original) return "it changed while it was being fixed";
  const bytes = encodeLike(readFileSync(absolute), fixed);
  if (!bytes) return "its coding cookie declares Latin-1 and the fixed text has other characters";
  const temporary = join(dirname(absolute), `.${basename(absolute)}.stalecheck-fix-${randomBytes(6).toString("hex")}`);
  try {
    // `wx`: never follow or reuse something already under the temporary name.
    const fd = openSync(temporary, "wx", stat.mode & 0o777);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temporary, stat.mode & 0o7777);
    renameSync(temporary, absolute);
    return null;
  } catch (error) {
    rmSync(temporary, { force: true });
    return `could not be written (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
}
