/**
 * Reading a small file a repository may have planted: a configuration file or a baseline can be
 * a link to /dev/zero (which never ends), a FIFO (which blocks until someone writes) or a huge
 * file. Only regular files are read, and only up to a size limit.
 */
import { type Stats, closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";

/** What a file that is not a regular file is, for messages: "a directory", "a FIFO", … */
export function fileKind(stat: Stats): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isSymbolicLink()) return "a symbolic link";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  return "not a regular file";
}

/** Why a file cannot be read; `code` is the errno code when the system refused. */
export class UnreadableFile extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/**
 * The text (UTF-8) of a regular file of at most `maxBytes` bytes, following links; throws
 * UnreadableFile saying why not ("no such file (ENOENT)", "not a regular file (a FIFO)",
 * "12.0 MiB is over the 10.0 MiB limit"). A FIFO or device is never opened: the path is
 * stat'ed first, then opened without blocking and checked again, in case it changed between.
 */
export function readRegularFile(path: string, maxBytes: number): string {
  const check = (stat: Stats) => {
    if (!stat.isFile()) throw new UnreadableFile(`not a regular file (${fileKind(stat)})`);
    if (stat.size > maxBytes) throw new UnreadableFile(`${formatBytes(stat.size)} is over the ${formatBytes(maxBytes)} limit`);
  };
  let fd: number;
  try {
    check(statSync(path));
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if (error instanceof UnreadableFile) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UnreadableFile(code === "ENOENT" ? "no such file (ENOENT)" : code ?? String(error), code);
  }
  try {
    check(fstatSync(fd));
    // Read to the end, not to the size stat'ed: the file may have grown, and the limit still holds.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new UnreadableFile(`over the ${formatBytes(maxBytes)} limit`);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString("utf8");
  } catch (error) {
    if (error instanceof UnreadableFile) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UnreadableFile(code ?? String(error), code);
  } finally {
    closeSync(fd);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
