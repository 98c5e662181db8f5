/**
 * `--changed-since REV`: the files that differ from a git revision (committed, staged or not)
 * plus untracked ones, relative to the scan root. Git runs read-only; the scan still indexes
 * every file, only the report is narrowed.
 *
 * The scanned repository's own git configuration (`.git/config`, and what it includes) is
 * untrusted, and some of its settings are commands git runs by itself: `core.fsmonitor` on any
 * index refresh, the `clean`/`process` filter of a `.gitattributes` driver whenever `git diff`
 * hashes a worktree file, `textconv` and external diff drivers, hooks (`post-index-change`
 * when the index is written), and remote helpers or `core.sshCommand` when a partial clone
 * fetches a missing object. Each git call here overrides all of them (settings given on the
 * command line win over every configuration file), never writes the index, never fetches, and
 * has a time limit: an include of a FIFO would otherwise hang it.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "../core/errors.js";

/** Longest a single git call may take: a diff of a very large worktree takes seconds, not minutes. */
const GIT_TIMEOUT_MS = 120_000;

/** Settings that make git run a command, set to values that run nothing. */
const SAFE_SETTINGS: readonly (readonly [string, string])[] = [
  ["core.fsmonitor", "false"],
  ["core.hooksPath", "/dev/null"],
  ["core.pager", "cat"],
  ["diff.external", ""],
  // No transport at all: a lazy fetch could run core.sshCommand, a remote helper or an ext:: command.
  ["protocol.allow", "never"],
  ["core.askPass", ""],
  ["credential.helper", ""],
];

/**
 * Overrides for every filter and diff driver the configuration defines: no command, and a
 * filter that is not `required` (git would stop at a required filter it cannot run).
 */
const DRIVER_OVERRIDES: Record<string, readonly (readonly [string, string])[]> = {
  filter: [["clean", ""], ["smudge", ""], ["process", ""], ["required", "false"]],
  diff: [["textconv", ""], ["command", ""]],
};

type Git = (args: readonly string[]) => string;

export function changedFiles(root: string, rev: string): Set<string> {
  if (rev.startsWith("-") || rev.trim() === "") throw new UsageError(`--changed-since needs a git revision, not "${rev}"`);
  const fail = (reason: string) => new UsageError(`--changed-since ${rev}: ${reason}`);
  const raw = gitRunner(root, SAFE_SETTINGS, fail);
  // The drivers are named by the configuration itself: read it (reading runs nothing), then blank each one's commands.
  const git = gitRunner(root, [...SAFE_SETTINGS, ...driverOverrides(raw(["config", "--list", "-z"]))], fail);
  try {
    git(["rev-parse", "--verify", "--end-of-options", `${rev}^{commit}`]);
  } catch (error) {
    if (error instanceof UsageError && /no such revision/.test(error.message) && !hasCommit(git)) {
      // Before the first commit everything is new since HEAD: every file tracked or not ignored.
      if (rev === "HEAD" || rev === "@") return new Set(git(["ls-files", "--cached", "--others", "--exclude-standard", "-z"]).split("\0").filter(Boolean));
      throw fail("this git repository has no commit yet, so there is nothing to compare with but HEAD (commit first, or leave out --changed-since)");
    }
    throw error;
  }
  // --relative: paths relative to the scan root, and only the files under it.
  const diff = git(["diff", "--no-ext-diff", "--no-textconv", "--ignore-submodules=all", "--name-only", "--relative", "--no-renames", "-z", rev, "--"]);
  const untracked = git(["ls-files", "--others", "--exclude-standard", "-z"]);
  return new Set([...diff.split("\0"), ...untracked.split("\0")].filter(Boolean));
}

/**
 * Runs git in `root` with `settings` on top of every configuration file. The work tree is the
 * directory that holds the `.git` found above `root`, as git would find it, so that a
 * `core.worktree` in the configuration cannot point git at another directory.
 */
function gitRunner(root: string, settings: readonly (readonly [string, string])[], fail: (reason: string) => UsageError): Git {
  // GIT_CONFIG_COUNT rather than -c: a driver name may hold "=", which -c would split on.
  const env: Record<string, string | undefined> = { ...process.env, GIT_CONFIG_COUNT: String(settings.length), GIT_OPTIONAL_LOCKS: "0", GIT_NO_LAZY_FETCH: "1", GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat" };
  settings.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  const workTree = workTreeAbove(root);
  const prefix = ["--no-pager", "-C", root, ...(workTree !== null ? ["--work-tree", workTree] : [])];
  return (args) => {
    try {
      return execFileSync("git", [...prefix, ...args], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024, timeout: GIT_TIMEOUT_MS });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ETIMEDOUT") throw fail(`git did not answer within ${GIT_TIMEOUT_MS / 1000} s`);
      const stderr = String((error as { stderr?: string }).stderr ?? "").trim().split("\n")[0] || (error as Error).message;
      const reason = stderr.replace(/^fatal:\s*/, "");
      throw fail(/single revision|unknown revision|bad revision/.test(reason) ? "no such revision in this git repository" : reason);
    }
  };
}

/** DRIVER_OVERRIDES for every filter and diff driver that `git config --list -z` shows. */
function driverOverrides(configList: string): [string, string][] {
  const out = new Map<string, [string, string]>();
  for (const item of configList.split("\0")) {
    const key = item.split("\n", 1)[0]!;
    const match = /^(filter|diff)\.(.+)\.[^.]+$/s.exec(key);
    if (!match) continue;
    for (const [variable, value] of DRIVER_OVERRIDES[match[1]!]!) {
      const name = `${match[1]}.${match[2]}.${variable}`;
      out.set(name, [name, value]);
    }
  }
  return [...out.values()];
}

function hasCommit(git: Git): boolean {
  try {
    return git(["rev-list", "-n", "1", "--all"]).trim() !== "";
  } catch {
    return false;
  }
}

/** The nearest directory at or above `dir` holding a `.git` entry, or null. */
function workTreeAbove(dir: string): string | null {
  for (let current = resolve(dir); ; current = dirname(current)) {
    if (existsSync(join(current, ".git"))) return current;
    if (dirname(current) === current) return null;
  }
}
