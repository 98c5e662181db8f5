/**
 * Writing the files the user named (-o/--output, --write-baseline). The working directory is
 * usually the scanned repository, so whatever lies in it is untrusted: a committed
 * `stalecheck.sarif` may be a symbolic link to `~/.bashrc`, a committed `reports` directory a
 * link to `../..`. The rule:
 *
 * - The target itself is never a symbolic link, and never something other than a regular file
 *   (a directory, FIFO or device): refused, whoever named it.
 * - A target inside the working directory (a relative path, or an absolute one that lies under
 *   it) must really be inside it: its parent directory, links resolved, lies in the working
 *   directory's real path. `-o reports/x.sarif` works; `-o ../x.sarif`, or a `reports` that
 *   links out of the tree, is refused.
 * - An absolute path outside the working directory (`-o /tmp/report.json`) is the user's
 *   explicit choice and is written there; only the first rule applies to it.
 *
 * The file is written to a new temporary file in the same directory, then renamed over the
 * target: a rename replaces the directory entry, it never writes through a link or into a file
 * another name shares, and a reader never sees half a report.
 */
import { randomBytes } from "node:crypto";
import { type Stats, chmodSync, closeSync, lstatSync, openSync, realpathSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { isWithin } from "../discover/paths.js";
import { fileKind } from "../discover/regularFile.js";
import { UsageError } from "../core/errors.js";

/**
 * Checks where an output named on the command line may go (see the module comment) and returns
 * its absolute path; throws a UsageError naming `option` otherwise. Called before the scan, so
 * that a refused output costs nothing, and again by `writeOutputFile`.
 */
export function checkOutputPath(name: string, cwd: string, option: string): string {
  const target = resolve(cwd, name);
  const refuse = (why: string) => new UsageError(`${option} ${name}: ${why}`);
  const existing = lstatOrNull(target);
  if (existing?.isSymbolicLink()) {
    throw refuse("is a symbolic link; stalecheck does not write through links (remove the link, or name another file)");
  }
  if (existing && !existing.isFile()) throw refuse(`is not a regular file (${fileKind(existing)}); stalecheck writes only regular files`);
  const realCwd = realOrSelf(cwd);
  const lexicallyInside = isWithin(resolve(cwd), target) || isWithin(realCwd, target);
  if (!isAbsolute(name) && !lexicallyInside) {
    throw refuse("is outside the working directory; name it with an absolute path to write there");
  }
  if (lexicallyInside) {
    let parent: string;
    try {
      parent = realpathSync(dirname(target));
    } catch (error) {
      throw refuse(`cannot write it: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    if (!isWithin(realCwd, parent)) {
      throw refuse("its directory is a symbolic link that leads out of the working directory; stalecheck does not write through links");
    }
  }
  return target;
}

/** Writes `text` to the output `name` (checked by `checkOutputPath`) through a temporary file and a rename. */
export function writeOutputFile(name: string, cwd: string, option: string, text: string): void {
  const target = checkOutputPath(name, cwd, option);
  const existing = lstatOrNull(target);
  const dir = dirname(target);
  let temporary: string | null = null;
  try {
    let fd: number | null = null;
    for (let attempt = 0; fd === null; attempt++) {
      temporary = join(dir, `.stalecheck-${randomBytes(6).toString("hex")}.tmp`);
      try {
        // "wx": O_CREAT | O_EXCL, which also refuses a link planted at the temporary name.
        fd = openSync(temporary, "wx", 0o666);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 5) {
          temporary = null;
          throw error;
        }
      }
    }
    try {
      const bytes = Buffer.from(text, "utf8");
      for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset);
    } finally {
      closeSync(fd);
    }
    // Replacing a file keeps its permissions, as writing into it did.
    if (existing) chmodSync(temporary!, existing.mode & 0o7777);
    renameSync(temporary!, target);
    temporary = null;
  } catch (error) {
    throw new UsageError(`cannot write ${name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  } finally {
    if (temporary !== null) rmSync(temporary, { force: true });
  }
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
