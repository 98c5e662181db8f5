/**
 * Discovery meets hostile names and file types (a scanned repository is untrusted input): a
 * file name that is not valid UTF-8, a FIFO named `*.py`. Each is reported in errors[], none
 * is opened, and the rest of the tree is scanned.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runBuiltCli, runCli } from "./helpers/runCli.js";
import { MODELS, redeemView, removeTempProjects, tempProject } from "./helpers/tempProject.js";

afterAll(removeTempProjects);

/** A project with one STC102 finding, app/views.py line 10. */
const project = (extra: Record<string, string> = {}) => tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), ...extra });
const mkfifo = (path: string) => execFileSync("mkfifo", [path]);

describe("discovery: names and file types", () => {
  it("reports a file name that is not valid UTF-8, escaped, instead of failing to open it", async () => {
    const dir = project();
    const root = Buffer.from(dir);
    const bad = Buffer.concat([root, Buffer.from("/app/v"), Buffer.from([0xff, 0xfe]), Buffer.from("iews.py")]);
    writeFileSync(bad, redeemView());
    mkdirSync(Buffer.concat([root, Buffer.from("/pkg"), Buffer.from([0xc3, 0x28])]));
    writeFileSync(Buffer.concat([root, Buffer.from("/pkg"), Buffer.from([0xc3, 0x28]), Buffer.from("/views.py")]), redeemView());
    // A valid name holding U+FFFD is an ordinary file.
    writeFileSync(join(dir, "app", "odd\uFFFD.py"), "x = 1\n");
    const run = await runCli([".", "--format", "json"], dir);
    const report = JSON.parse(run.stdout) as { summary: { files: number }; errors: { file: string; message: string }[]; findings: { file: string }[] };
    expect(report.errors).toEqual([
      { file: "app/v\\xff\\xfeiews.py", message: "file name is not valid UTF-8; skipped" },
      { file: "pkg\\xc3(", message: "directory name is not valid UTF-8; skipped with everything in it" },
    ]);
    expect(report.summary.files).toBe(3);
    expect(report.findings.map((f) => f.file)).toEqual(["app/views.py"]);
  });

  it("reports a FIFO named *.py, found or named, without opening it", async () => {
    const dir = project();
    mkfifo(join(dir, "app", "pipe.py"));
    mkfifo(join(dir, "app", "pipe.txt"));
    const found = await runBuiltCli([".", "--format", "json"], dir);
    expect(found.code).toBe(1);
    expect(JSON.parse(found.stdout).errors).toEqual([{ file: "app/pipe.py", message: "cannot read file: not a regular file (a FIFO); skipped" }]);
    const named = await runBuiltCli(["app/pipe.py", "app/views.py", "--format", "json"], dir);
    expect(named.code).toBe(1);
    expect(JSON.parse(named.stdout).errors).toEqual([{ file: "app/pipe.py", message: "cannot read file: not a regular file (a FIFO); skipped" }]);
  }, 60_000);

  it("scans the files of a directory named *.py, which is a directory", async () => {
    const dir = project({ "odd.py/views.py": redeemView() });
    const run = await runCli([".", "--format", "json"], dir);
    expect(JSON.parse(run.stdout).errors).toEqual([]);
    expect((JSON.parse(run.stdout).findings as { file: string }[]).map((f) => f.file)).toEqual(["app/views.py", "odd.py/views.py"]);
  });
});
