/**
 * The discover stage: which Python files a scan reads. Iterative, sorted, honours .gitignore
 * files and --exclude globs, never follows directory symlinks (no loops, nothing outside the tree).
 * Whatever named `*.py` is not read is reported: a FIFO, socket or device (never opened), a link
 * leaving the tree, a name that is not valid UTF-8.
 */
import { type Dirent, closeSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import picomatch from "picomatch";
import { fileKind } from "./regularFile.js";

export interface DiscoveredFile {
  /** Absolute path. */
  absolute: string;
  /** Relative to the scan root, forward slashes. */
  path: string;
  /** The file's text when it does not come from the file system (`--stdin-filename`). */
  text?: string;
}

export interface DiscoverResult {
  root: string;
  files: DiscoveredFile[];
  errors: { file: string; message: string }[];
  /** Python files found under `cacheDir` (relative paths), which are not in `files`. */
  cacheSources: string[];
}

export interface DiscoverOptions {
  cwd: string;
  paths: readonly string[];
  exclude: readonly string[];
  /** Paths to leave out, by absolute path (the configuration's `exclude`), even when named explicitly; skipped directories are not entered. */
  skip?: (absolute: string) => boolean;
  /**
   * The cache directory (absolute): never scanned, whatever its own `.gitignore` says. Python
   * files found in it are listed in `cacheSources` instead, found without that `.gitignore`
   * (which ignores everything), so a cache placed over sources is noticed rather than hiding them.
   */
  cacheDir?: string;
}

/** Directories no Django project wants scanned. */
const SKIPPED_DIRECTORIES = new Set([".git", ".hg", ".svn", "node_modules", "__pycache__", ".tox", ".nox", ".venv", "venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"]);

export function discover(options: DiscoverOptions): DiscoverResult {
  const inputs = inputPaths(options.cwd, options.paths);
  const root = scanRoot(options.cwd, inputs);
  const excluded = options.exclude.length > 0 ? picomatch([...options.exclude], { dot: true }) : null;
  const files = new Map<string, DiscoveredFile>();
  const errors: DiscoverResult["errors"] = [];
  const cacheSources: string[] = [];
  const rel = (abs: string) => relative(root, abs).split(sep).join("/") || ".";

  for (const input of inputs) {
    let stat;
    try {
      stat = statSync(input);
    } catch (error) {
      errors.push({ file: rel(input), message: `cannot read path: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
      continue;
    }
    if (options.skip?.(input)) continue;
    if (stat.isFile()) {
      // A file named explicitly is scanned if it is Python by its name or its #! line, as
      // pre-commit's `types: [python]` selects files (a script named `manage`, say).
      if (isPythonFile(input)) files.set(input, { absolute: input, path: rel(input) });
      else errors.push({ file: rel(input), message: "not a Python file (no .py, .pyw or .pyi name, no python #! line); skipped" });
      continue;
    }
    if (!stat.isDirectory()) {
      errors.push({ file: rel(input), message: `cannot read file: not a regular file (${fileKind(stat)}); skipped` });
      continue;
    }
    // Relative paths are built by appending names: path.relative per entry cost more than the walk.
    type Pending = { dir: string; relDir: string; ignores: Ignore[]; bases: string[]; inCache: boolean };
    const stack: Pending[] = [{ dir: input, relDir: rel(input), ignores: [], bases: [], inCache: input === options.cacheDir }];
    while (stack.length > 0) {
      const { dir, relDir, ignores, bases, inCache } = stack.pop()!;
      let listing;
      try {
        listing = listDirectory(dir);
      } catch (error) {
        if (!inCache) errors.push({ file: rel(dir), message: `cannot read directory: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
        continue;
      }
      const { entries, undecodable } = listing;
      const localIgnores = [...ignores];
      const localBases = [...bases];
      if (!inCache && entries.some((e) => e.name === ".gitignore" && e.isFile())) {
        try {
          localIgnores.push(ignore().add(readFileSync(join(dir, ".gitignore"), "utf8")));
          localBases.push(dir);
        } catch {
          // An unreadable .gitignore ignores nothing.
        }
      }
      const isIgnored = (abs: string, isDir: boolean) =>
        localIgnores.some((ig, i) => {
          const relToBase = relative(localBases[i]!, abs).split(sep).join("/");
          return relToBase !== "" && ig.ignores(isDir ? `${relToBase}/` : relToBase);
        });
      for (const entry of undecodable) {
        const relPath = relDir === "." ? entry.display : `${relDir}/${entry.display}`;
        // Ignore rules and globs see the name as Node decodes it (invalid bytes as U+FFFD).
        const lossy = join(dir, entry.lossy);
        const lossyRel = relDir === "." ? entry.lossy : `${relDir}/${entry.lossy}`;
        if (isIgnored(lossy, entry.isDirectory) || excluded?.(lossyRel) || options.skip?.(lossy)) continue;
        if (entry.isDirectory) errors.push({ file: relPath, message: "directory name is not valid UTF-8; skipped with everything in it" });
        else if (entry.lossy.endsWith(".py")) errors.push({ file: relPath, message: "file name is not valid UTF-8; skipped" });
      }
      const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const subdirs: { abs: string; relPath: string; inCache: boolean }[] = [];
      for (const entry of sorted) {
        const isDirectory = entry.isDirectory();
        if (!isDirectory && !entry.name.endsWith(".py")) continue;
        const abs = join(dir, entry.name);
        const relPath = relDir === "." ? entry.name : `${relDir}/${entry.name}`;
        if (isDirectory) {
          if (SKIPPED_DIRECTORIES.has(entry.name) || isIgnored(abs, true) || excluded?.(relPath) || excluded?.(`${relPath}/`) || options.skip?.(abs)) continue;
          subdirs.push({ abs, relPath, inCache: inCache || abs === options.cacheDir });
        } else {
          if (isIgnored(abs, false) || excluded?.(relPath) || options.skip?.(abs)) continue;
          if (inCache) {
            if (entry.isFile() || entry.isSymbolicLink()) cacheSources.push(relPath);
            continue;
          }
          if (entry.isSymbolicLink()) {
            const problem = symlinkProblem(abs, root);
            if (problem) {
              errors.push({ file: relPath, message: problem });
              continue;
            }
          }
          if (entry.isFile() || entry.isSymbolicLink()) files.set(abs, { absolute: abs, path: relPath });
          else errors.push({ file: relPath, message: `cannot read file: not a regular file (${direntKind(entry)}); skipped` });
        }
      }
      for (let i = subdirs.length - 1; i >= 0; i--) {
        const { abs, relPath, inCache: subInCache } = subdirs[i]!;
        stack.push({ dir: abs, relDir: relPath, ignores: localIgnores, bases: localBases, inCache: subInCache });
      }
    }
  }
  const list = [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  errors.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  cacheSources.sort();
  return { root, files: list, errors, cacheSources };
}

/** A Python file by its name, or by a `#!` first line naming python. */
function isPythonFile(absolute: string): boolean {
  if (/\.py[iw]?$/.test(absolute)) return true;
  try {
    const fd = openSync(absolute, "r");
    try {
      const head = Buffer.alloc(128);
      const read = readSync(fd, head, 0, head.length, 0);
      return /^#![^\n]*\bpython[0-9.]*\b/.test(head.subarray(0, read).toString("latin1"));
    } finally {
      closeSync(fd);
    }
  } catch {
    return true; // Unreadable: reading it says why.
  }
}

/** A directory entry whose name is not valid UTF-8: `display` shows the bad bytes as `\xff`, `lossy` is Node's decoding. */
interface UndecodableEntry {
  display: string;
  lossy: string;
  isDirectory: boolean;
}

/**
 * A directory's entries. Node decodes names as UTF-8, replacing invalid bytes with U+FFFD, and
 * such a name no longer opens its file: those are listed apart, from a second listing as bytes
 * (taken only when some name holds U+FFFD).
 */
function listDirectory(dir: string): { entries: Dirent[]; undecodable: UndecodableEntry[] } {
  const entries = readdirSync(dir, { withFileTypes: true });
  if (!entries.some((e) => e.name.includes("\uFFFD"))) return { entries, undecodable: [] };
  const valid = new Map<string, number>();
  const undecodable: UndecodableEntry[] = [];
  for (const raw of readdirSync(dir, { withFileTypes: true, encoding: "buffer" })) {
    const lossy = raw.name.toString("utf8");
    if (Buffer.from(lossy, "utf8").equals(raw.name)) valid.set(lossy, (valid.get(lossy) ?? 0) + 1);
    else undecodable.push({ display: escapeInvalidUtf8(raw.name), lossy, isDirectory: raw.isDirectory() });
  }
  undecodable.sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
  // A valid name may hold U+FFFD itself, and equal an invalid one's decoding: keep it once.
  const kept = entries.filter((e) => {
    const left = valid.get(e.name) ?? 0;
    valid.set(e.name, left - 1);
    return left > 0;
  });
  return { entries: kept, undecodable };
}

/** Bytes as UTF-8 text, each byte that is not part of a valid sequence written `\xHH`. */
function escapeInvalidUtf8(bytes: Buffer): string {
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const piece = length > 0 && i + length <= bytes.length ? bytes.subarray(i, i + length) : null;
    if (piece && Buffer.from(piece.toString("utf8"), "utf8").equals(piece)) {
      out += piece.toString("utf8");
      i += length;
    } else {
      out += `\\x${b.toString(16).padStart(2, "0")}`;
      i++;
    }
  }
  return out;
}

function direntKind(entry: Dirent): string {
  if (entry.isFIFO()) return "a FIFO";
  if (entry.isSocket()) return "a socket";
  if (entry.isCharacterDevice()) return "a character device";
  if (entry.isBlockDevice()) return "a block device";
  return "not a regular file";
}

/** The root `discover` reports paths relative to: the one directory given, else `cwd`. */
export function discoverRoot(cwd: string, paths: readonly string[]): string {
  return scanRoot(cwd, inputPaths(cwd, paths));
}

/** The absolute paths a scan of `paths` walks (the working directory when none is given). */
export function inputPaths(cwd: string, paths: readonly string[]): string[] {
  return (paths.length > 0 ? paths : ["."]).map((p) => resolve(cwd, p));
}

/** The directory findings are relative to: the one directory scanned, else the working directory. */
function scanRoot(cwd: string, inputs: string[]): string {
  if (inputs.length === 1) {
    try {
      if (statSync(inputs[0]!).isDirectory()) return inputs[0]!;
    } catch {
      // Reported by discover.
    }
  }
  return resolve(cwd);
}

/** Why a symbolic link named `*.py` is not read, or null when its target is a file inside the tree. */
function symlinkProblem(abs: string, root: string): string | null {
  let target: string;
  try {
    target = realpathSync(abs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ELOOP" ? "skipped: symbolic link loop" : `skipped: broken symbolic link (${code ?? "unreadable"})`;
  }
  const realRoot = realpathSync(root);
  return target === realRoot || target.startsWith(realRoot + sep) ? null : "skipped: symbolic link to a file outside the scanned directory";
}
