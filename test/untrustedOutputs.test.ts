/**
 * The CLI's outputs and options when the working directory is an untrusted repository:
 * -o/--output, --write-baseline and `endpoints -o` are written through a temporary file and a
 * rename, never through a link, and not out of the working directory unless named there
 * absolutely; --file-timeout and --jobs are bounded; a scan that analysed no file exits 2; and
 * messages are escaped.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseArgs } from "../src/cli/args.js";
import { runBuiltCli, runCli } from "./helpers/runCli.js";
import { MODELS, redeemView, removeTempProjects, tempProject } from "./helpers/tempProject.js";

afterAll(removeTempProjects);

/** A project with one STC102 finding, app/views.py line 10. */
const project = (extra: Record<string, string> = {}) => tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), ...extra });
/** Left-over temporary files of an output written in `dir`. */
const temporaries = (dir: string) => readdirSync(dir).filter((name) => name.startsWith(".stalecheck-"));
const mkfifo = (path: string) => execFileSync("mkfifo", [path]);

describe("outputs (-o, --write-baseline, endpoints -o)", () => {
  it("refuses a committed symbolic link as the report, and leaves its target alone", async () => {
    const outside = tempProject({ ".bashrc": "export PATH=/usr/bin\n" });
    const dir = project();
    symlinkSync(join(outside, ".bashrc"), join(dir, "stalecheck.sarif"));
    symlinkSync(join(outside, ".bashrc"), join(dir, "baseline.json"));
    for (const argv of [[".", "--format", "sarif", "-o", "stalecheck.sarif"], [".", "--write-baseline", "baseline.json"], ["endpoints", ".", "--output", "stalecheck.sarif"]]) {
      const run = await runCli(argv, dir);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/(--output stalecheck\.sarif|--write-baseline baseline\.json): is a symbolic link; stalecheck does not write through links/);
      expect(run.stderr).not.toContain("internal error");
    }
    expect(readFileSync(join(outside, ".bashrc"), "utf8")).toBe("export PATH=/usr/bin\n");
  });

  it("refuses a path whose directory links out of the working directory, and a relative path leaving it", async () => {
    const outside = tempProject({});
    const dir = project();
    symlinkSync(outside, join(dir, "reports"));
    const linked = await runCli([".", "-o", "reports/x.sarif"], dir);
    expect(linked.code).toBe(2);
    expect(linked.stderr).toContain("--output reports/x.sarif: its directory is a symbolic link that leads out of the working directory");
    const up = await runCli([".", "--write-baseline", "../x.json"], join(dir, "app"));
    expect(up.code).toBe(2);
    expect(up.stderr).toContain("--write-baseline ../x.json: is outside the working directory; name it with an absolute path to write there");
    // The same path written absolute, inside the working directory, is still checked.
    const absolute = await runCli([".", "-o", join(dir, "reports", "x.sarif")], dir);
    expect(absolute.code).toBe(2);
    expect(readdirSync(outside)).toEqual([]);
  });

  it("refuses a directory, FIFO or device as the output", async () => {
    const dir = project();
    mkdirSync(join(dir, "out.json"));
    mkfifo(join(dir, "pipe.json"));
    for (const [target, kind] of [["out.json", "a directory"], ["pipe.json", "a FIFO"], ["/dev/null", "a character device"]] as const) {
      const run = await runBuiltCli([".", "-o", target], dir);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--output ${target}: is not a regular file (${kind})`);
    }
  }, 90_000);

  it("writes a relative path inside the working directory and an absolute one outside it, replacing the file rather than writing into it", async () => {
    const dir = project({ "reports/.keep": "" });
    const outside = tempProject({});
    // A hard link shares the old file: a rename leaves it as it was, a write into the file would not.
    writeFileSync(join(dir, "reports", "x.json"), "old report\n");
    chmodSync(join(dir, "reports", "x.json"), 0o640);
    linkSync(join(dir, "reports", "x.json"), join(outside, "shared.json"));
    const inside = await runCli([".", "--format", "json", "-o", "reports/x.json"], dir);
    expect(inside.code).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, "reports", "x.json"), "utf8")).summary.findings).toBe(1);
    expect(statSync(join(dir, "reports", "x.json")).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(outside, "shared.json"), "utf8")).toBe("old report\n");
    const elsewhere = await runCli([".", "--format", "json", "-o", join(outside, "report.json")], dir);
    expect(elsewhere.code).toBe(1);
    expect(JSON.parse(readFileSync(join(outside, "report.json"), "utf8")).summary.findings).toBe(1);
    const baseline = await runCli([".", "--write-baseline", "reports/baseline.json"], dir);
    expect(baseline.code).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(join(dir, "reports", "baseline.json"), "utf8")).findings)).toHaveLength(1);
    expect(temporaries(join(dir, "reports"))).toEqual([]);
    expect(temporaries(outside)).toEqual([]);
  });
});

describe("options and messages: bounds, a scan that analysed nothing, escaped messages", () => {
  it("bounds --file-timeout to 0.1–3600 s and --jobs to 1–64", async () => {
    for (const [argv, message] of [
      [["--file-timeout", "3000000"], '--file-timeout must be a number of seconds from 0.1 to 3600, not "3000000"'],
      [["--file-timeout", "1e-9"], '--file-timeout must be a number of seconds from 0.1 to 3600, not "1e-9"'],
      [["--file-timeout", "0.05"], "--file-timeout must be"],
      [["--jobs", "65"], '--jobs must be a whole number of worker threads from 1 to 64, not "65"'],
      [["-j", "200"], "--jobs must be a whole number of worker threads from 1 to 64"],
    ] as const) {
      const run = await runCli([".", ...argv], project());
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
    }
    expect(parseArgs(["--file-timeout", "0.1", "--jobs", "64"])).toMatchObject({ fileTimeoutMs: 100, jobs: 64 });
    expect(parseArgs(["--file-timeout", "3600"])).toMatchObject({ fileTimeoutMs: 3_600_000 });
  });

  it("exits 2 when every file was skipped, for check, endpoints and --write-baseline", async () => {
    const dir = tempProject({ "a.py": "x = 1\0" });
    writeFileSync(join(dir, "b.py"), Buffer.from([0x78, 0x20, 0x3d, 0x20, 0xff, 0x0a]));
    const check = await runCli([".", "--format", "json"], dir);
    expect(check.code).toBe(2);
    expect(JSON.parse(check.stdout).errors).toHaveLength(2);
    expect(check.stderr).toBe("stalecheck: no file could be analysed: all 2 were skipped (a.py: skipped: binary file (contains NUL bytes), not Python source; …); the report lists why for each\n");
    const endpoints = await runCli(["endpoints", "."], dir);
    expect(endpoints.code).toBe(2);
    const baseline = await runCli([".", "--write-baseline", "b.json"], dir);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toContain("no baseline written");
    expect(existsSync(join(dir, "b.json"))).toBe(false);
  });

  it("does not count syntax errors, an empty tree, or a tree where one file could be read", async () => {
    expect((await runCli(["."], tempProject({ "a.py": "def broken(:\n", "b.py": "class C(\n" }))).code).toBe(0);
    expect((await runCli(["."], tempProject({ "README.md": "no Python here" }))).code).toBe(0);
    expect((await runCli(["."], tempProject({ "a.py": "x = 1\0", "b.py": "x = 1\n" }))).code).toBe(0);
  });

  it("refuses an --exclude glob that is empty or that picomatch cannot compile", async () => {
    for (const glob of ["", "   ", "a".repeat(70_000)]) {
      const run = await runCli([".", "--exclude", glob], project());
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^stalecheck: --exclude "[^"]*": (names no file|Input length)/);
    }
  });

  it("escapes control characters in its messages (a configuration key quoted in an error)", async () => {
    const ESC = "\u001b";
    const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
    const config = await runCli(["."], project({ "pyproject.toml": `[tool.stalecheck]\n"\\u001b]0;pwned\\u0007" = 1\n` }));
    expect(config.code).toBe(2);
    expect(config.stderr).not.toMatch(raw);
    expect(config.stderr).not.toContain(ESC);
    expect(config.stderr).toContain('unknown key "\\x1b]0;pwned\\x07"');
  });
});
