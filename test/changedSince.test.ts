/**
 * --changed-since REV: only findings in files changed since a git revision (committed, staged,
 * unstaged or untracked) are reported, while the whole project is still analysed.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliIO, main } from "../src/cli/main.js";
import { MODELS, redeemView, removeTempProjects, tempProject, writeFiles } from "./helpers/tempProject.js";

afterAll(removeTempProjects);

async function run(argv: string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, env: { NO_COLOR: "1" }, stdoutIsTTY: false };
  const code = await main([...argv, "--no-cache", "--format", "json"], io);
  return { code, stderr, findings: code === 2 ? [] : (JSON.parse(stdout).findings as { file: string; line: number; rule: string }[]).map((f) => `${f.file}:${f.line} ${f.rule}`) };
}

const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const SQLITE_SETTINGS = `DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}\n`;
/** Correct on PostgreSQL; STC105 only because settings.py (another file) says SQLite. */
const LOCKED_VIEW = `from django.db import transaction
from django.http import JsonResponse
from .models import Voucher


@transaction.atomic
def redeem_locked(request, code):
    voucher = Voucher.objects.select_for_update().get(code=code)
    if voucher.used:
        return JsonResponse({"error": "already used"}, status=409)
    voucher.used = True
    voucher.save()
    return JsonResponse({"ok": True})
`;

let repo: string;

beforeAll(() => {
  repo = tempProject({ "config/settings.py": SQLITE_SETTINGS, "app/models.py": MODELS, "app/views.py": redeemView(), "app/other.py": redeemView("other") });
  git(repo, "init", "-q");
  git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".");
  git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "initial");
});

describe("--changed-since", () => {
  it("reports nothing when nothing changed, and everything without the option", async () => {
    expect((await run([".", "--changed-since", "HEAD"], repo)).findings).toEqual([]);
    expect((await run(["."], repo)).findings).toEqual(["app/other.py:10 STC102", "app/views.py:10 STC102"]);
  });

  it("reports modified, staged and untracked files, with the whole project analysed", async () => {
    writeFiles(repo, { "app/views.py": `${redeemView()}\n\n${LOCKED_VIEW.split("\n").slice(3).join("\n")}` });
    writeFiles(repo, { "app/locked.py": LOCKED_VIEW });
    const { findings } = await run([".", "--changed-since", "HEAD"], repo);
    // STC105 needs config/settings.py, which did not change: the project was still indexed.
    expect(findings).toEqual(["app/locked.py:8 STC105", "app/views.py:10 STC102", "app/views.py:19 STC105"]);
    git(repo, "add", "app/locked.py");
    expect((await run([".", "--changed-since", "HEAD"], repo)).findings).toContain("app/locked.py:8 STC105");
  });

  it("takes paths relative to a scanned subdirectory", async () => {
    // Only app/ is scanned, so the SQLite settings are not seen and the locks count.
    expect((await run(["app", "--changed-since", "HEAD"], repo)).findings).toEqual(["views.py:10 STC102"]);
  });

  it("exits 2 for an unknown revision or outside a git repository", async () => {
    const bad = await run([".", "--changed-since", "no-such-branch"], repo);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--changed-since no-such-branch: no such revision in this git repository");
    const outside = tempProject({ "app/views.py": "" });
    const noGit = await run([".", "--changed-since", "HEAD"], outside);
    expect(noGit.code).toBe(2);
    expect(noGit.stderr).toContain("not a git repository");
    expect((await run([".", "--changed-since", "--output=x"], repo)).code).toBe(2);
  });
});
