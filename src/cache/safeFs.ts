/**
 * File-system steps for the caches, which may sit in a scanned (so untrusted) tree: nothing is
 * reached through a symbolic link, nothing but a regular file is opened (a FIFO would block a
 * read for ever, a device might never end), nothing but a regular file or a real directory is
 * deleted, and new files are created exclusively, never over something already there.
 */
import { randomUUID } from "node:crypto";
import { type Stats, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";

/** 0 where the platform has no such flag (Windows): there, links and FIFOs are not a concern. */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const NONBLOCK = constants.O_NONBLOCK ?? 0;
const READ_FLAGS = constants.O_RDONLY | NOFOLLOW | NONBLOCK;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;

/** What lstat says about `path`, or null when nothing is there. */
export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Is `path` a directory itself, not a link to one? Never throws. */
export function isRealDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Is `stat` the current user's? Always true where there are no user ids (Windows). */
export function ownedByCurrentUser(stat: Stats): boolean {
  const uid = process.getuid?.();
  return uid === undefined || stat.uid === uid;
}

/**
 * Opens a regular file for reading: never through a link as its last component, never a FIFO,
 * socket or device (checked before opening, and again on the open file). Throws otherwise.
 */
export function openRegularFile(path: string): number {
  if (!lstatSync(path).isFile()) throw notRegular(path);
  const fd = openSync(path, READ_FLAGS);
  try {
    if (!fstatSync(fd).isFile()) throw notRegular(path);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** A regular file's bytes (see `openRegularFile`); throws when it holds more than `maxBytes`. */
export function readRegularFile(path: string, maxBytes = Number.MAX_SAFE_INTEGER): { bytes: Buffer; stat: Stats } {
  const fd = openRegularFile(path);
  try {
    const stat = fstatSync(fd);
    if (stat.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`);
    const bytes = Buffer.alloc(stat.size);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, read);
      if (n <= 0) break;
      read += n;
    }
    return { bytes: bytes.subarray(0, read), stat };
  } finally {
    closeSync(fd);
  }
}

/** Creates a new file for writing; fails if anything (a file, a link, a FIFO) already has the name. */
export function createExclusive(path: string, mode = 0o600): number {
  return openSync(path, CREATE_FLAGS, mode);
}

/** Writes all of `bytes` at the file's current position (a short write, on a nearly full disk, is continued or fails). */
export function writeAll(fd: number, bytes: Buffer, what: string): void {
  for (let written = 0; written < bytes.length; ) {
    const n = writeSync(fd, bytes, written, bytes.length - written);
    if (n <= 0) throw new Error(`could not write ${what}`);
    written += n;
  }
}

/** Makes `path` a directory (its parent must exist), or checks that it is a real one already. */
export function ensureDirectory(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    if (!isRealDirectory(path)) throw new Error(`${path} is not a directory (a symbolic link or another kind of file)`);
  }
}

/**
 * Writes a file through a new temporary file in the same directory and a rename, so a concurrent
 * reader never sees half of it; returns why it could not, or null. Never throws. The rename
 * replaces a link of that name, never the file it points to.
 */
export function writeAtomically(target: string, text: string): string | null {
  const temporary = `${target}.${randomUUID()}.tmp`;
  let fd = -1;
  try {
    fd = createExclusive(temporary);
    writeAll(fd, Buffer.from(text), temporary);
    closeSync(fd);
    fd = -1;
    renameSync(temporary, target);
    return null;
  } catch (error) {
    if (fd >= 0) closeQuietly(fd);
    unlinkQuietly(temporary);
    return describeError(error);
  }
}

/**
 * Deletes `path` if lstat shows a regular file (`file`) or a real directory (`directory`, with
 * everything in it: `rmSync` removes links inside without following them); anything else, a link
 * above all, is left alone. Returns whether it deleted something. Never throws.
 */
export function removeIf(path: string, kind: "file" | "directory"): boolean {
  try {
    const stat = lstatSync(path);
    if (kind === "file" && stat.isFile()) unlinkSync(path);
    else if (kind === "directory" && stat.isDirectory()) rmSync(path, { recursive: true, force: true });
    else return false;
    return true;
  } catch {
    return false; // Gone already (a concurrent scan), or not ours to delete.
  }
}

export function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Never created, or already removed.
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

/** `ENOTDIR: /path` for file-system errors, the message otherwise. */
export function describeError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.path ?? ""}`.trim() : error instanceof Error ? error.message : String(error);
}

function notRegular(path: string): Error {
  return Object.assign(new Error(`${path} is not a regular file`), { code: "ENOTREGULAR" });
}
