/**
 * `--changed-since REV`: the files that differ from a git revision (committed, staged or not)
 * plus untracked ones, relative to the scan root. Git runs read-only; the scan still indexes
 * every file, only the report is narrowed.
 */
import { execFileSync } from "node:child_process";
import { UsageError } from "../core/errors.js";

export function changedFiles(root: string, rev: string): Set<string> {
  if (rev.startsWith("-") || rev.trim() === "") throw new UsageError(`--changed-since needs a git revision, not "${rev}"`);
  const git = (args: string[]) => {
    try {
      return execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? "").trim().split("\n")[0] || (error as Error).message;
      const reason = stderr.replace(/^fatal:\s*/, "");
      throw new UsageError(`--changed-since ${rev}: ${/single revision|unknown revision|bad revision/.test(reason) ? "no such revision in this git repository" : reason}`);
    }
  };
  git(["rev-parse", "--verify", "--end-of-options", `${rev}^{commit}`]);
  // --relative: paths relative to the scan root, and only the files under it.
  const diff = git(["diff", "--name-only", "--relative", "--no-renames", "-z", rev, "--"]);
  const untracked = git(["ls-files", "--others", "--exclude-standard", "-z"]);
  return new Set([...diff.split("\0"), ...untracked.split("\0")].filter(Boolean));
}
