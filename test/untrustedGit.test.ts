/**
 * --changed-since runs git in a repository whose .git/config is untrusted: none of the commands
 * it may set (fsmonitor, filter and diff drivers, hooks) runs, core.worktree cannot move the
 * work tree, and a repository without commits gets a clear message.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/runCli.js";
import { MODELS, redeemView, removeTempProjects, tempProject, writeFiles } from "./helpers/tempProject.js";

afterAll(removeTempProjects);

/** A project with one STC102 finding, app/views.py line 10. */
const project = (extra: Record<string, string> = {}) => tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), ...extra });

describe("--changed-since runs none of the repository's git commands", () => {
  const git = (cwd: string, ...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

  /**
   * A repository whose .git/config sets command-valued settings that each create a marker
   * file: core.fsmonitor, a clean filter, a long-running filter process, a textconv driver, and a
   * post-index-change hook, with .gitattributes applying the drivers to every Python file; the
   * clean filter is `required` (git stops when it cannot run one). With `elsewhere`, a
   * core.worktree names another (empty) directory.
   */
  function hostileRepository(options: { elsewhere?: boolean } = {}): { repo: string; markers: string } {
    const markers = tempProject({});
    const repo = project({ "app/other.py": redeemView("other") });
    git(repo, "init", "-q");
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "initial");
    const mark = (name: string) => `touch ${join(markers, name)}`;
    git(repo, "config", "core.fsmonitor", `${mark("fsmonitor")}; false`);
    git(repo, "config", "filter.evil.clean", `${mark("clean")}; cat`);
    git(repo, "config", "filter.evil.required", "true");
    git(repo, "config", "filter.evil.smudge", `${mark("smudge")}; cat`);
    git(repo, "config", "filter.evil2.process", mark("process"));
    git(repo, "config", "diff.evil.textconv", `${mark("textconv")}; cat`);
    writeFileSync(join(repo, ".gitattributes"), "app/views.py filter=evil diff=evil\napp/other.py filter=evil2\n");
    mkdirSync(join(repo, ".git", "hooks"), { recursive: true });
    writeFileSync(join(repo, ".git", "hooks", "post-index-change"), `#!/bin/sh\n${mark("hook")}\n`, { mode: 0o755 });
    if (options.elsewhere) git(repo, "config", "core.worktree", tempProject({}));
    // Touched, the files no longer match the index's stat data: git must hash them again.
    writeFiles(repo, { "app/views.py": `${redeemView()}\n`, "app/other.py": redeemView("other") });
    return { repo, markers };
  }

  it("disables fsmonitor, filters, textconv, hooks and core.worktree, and still reports what changed", async () => {
    const control = hostileRepository();
    // The trap is real: plain git runs the repository's commands (and fails on the bogus filter process).
    try {
      git(control.repo, "diff", "--name-only", "HEAD");
    } catch {
      // Its markers are what counts.
    }
    expect(readdirSync(control.markers).length).toBeGreaterThan(0);

    const { repo, markers } = hostileRepository({ elsewhere: true });
    const run = await runCli([".", "--format", "json", "--changed-since", "HEAD"], repo);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    // views.py changed (a line added); other.py was only touched, and git, comparing its bytes, knows.
    expect((JSON.parse(run.stdout).findings as { file: string }[]).map((f) => f.file)).toEqual(["app/views.py"]);
    expect(readdirSync(markers)).toEqual([]);
  });

  it("takes every file as changed since HEAD before the first commit, and refuses another revision there", async () => {
    const repo = project();
    git(repo, "init", "-q");
    // A first commit of a project with a finding: the pre-commit hook stalecheck-changed runs exactly this.
    const run = await runCli([".", "--changed-since", "HEAD", "--format", "json"], repo);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout).findings as { file: string }[]).map((f) => f.file)).toEqual(["app/views.py"]);
    const other = await runCli([".", "--changed-since", "main"], repo);
    expect(other.code).toBe(2);
    expect(other.stderr).toBe("stalecheck: --changed-since main: this git repository has no commit yet, so there is nothing to compare with but HEAD (commit first, or leave out --changed-since)\n");
  });
});
