/**
 * The configuration and the baseline come from the scanned repository: files are read only when
 * regular and small (never a FIFO or /dev/zero), never quoted when they are not TOML or JSON,
 * keys are looked up as own keys only, globs must be usable, and a configured baseline stays
 * inside the configuration's directory.
 */
import { execFileSync } from "node:child_process";
import { symlinkSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runBuiltCli, runCli } from "./helpers/runCli.js";
import { MODELS, redeemView, removeTempProjects, tempProject, writeFiles } from "./helpers/tempProject.js";

afterAll(removeTempProjects);

/** A project with one STC102 finding, app/views.py line 10. */
const project = (extra: Record<string, string> = {}) => tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), ...extra });
const mkfifo = (path: string) => execFileSync("mkfifo", [path]);

describe("configuration and baseline files are read only when regular and small", () => {
  it("refuses a configuration or baseline that links to a device", async () => {
    const dir = project();
    symlinkSync("/dev/zero", join(dir, "pyproject.toml"));
    const config = await runBuiltCli(["."], dir);
    expect(config.code).toBe(2);
    expect(config.stderr).toMatch(/cannot read .*pyproject\.toml: not a regular file \(a character device\)/);
    const other = project({ "ci/.keep": "" });
    symlinkSync("/dev/zero", join(other, "ci", "baseline.json"));
    const baseline = await runBuiltCli([".", "--baseline", "ci/baseline.json"], other);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toContain("cannot read baseline");
    expect(baseline.stderr).toContain("not a regular file (a character device)");
  }, 60_000);

  it("never opens a FIFO as a configuration or a baseline", async () => {
    const dir = project();
    mkfifo(join(dir, "stalecheck.toml"));
    const config = await runBuiltCli(["."], dir);
    expect(config.code).toBe(2);
    expect(config.stderr).toContain("stalecheck.toml: not a regular file (a FIFO)");
    const other = project();
    mkfifo(join(other, "baseline.json"));
    const baseline = await runBuiltCli([".", "--baseline", "baseline.json"], other);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toContain("not a regular file (a FIFO)");
  }, 60_000);

  it("refuses a configuration over 10 MiB and a baseline over 64 MiB, and a directory as either", async () => {
    const dir = project({ "pyproject.toml": "[tool.stalecheck]\n" });
    // Sparse: nothing of the size is written.
    truncateSync(join(dir, "pyproject.toml"), 11 * 1024 * 1024);
    const config = await runCli(["."], dir);
    expect(config.code).toBe(2);
    expect(config.stderr).toContain("11.0 MiB is over the 10.0 MiB limit");
    const other = project({ "baseline.json": "" });
    truncateSync(join(other, "baseline.json"), 65 * 1024 * 1024);
    const baseline = await runCli([".", "--baseline", "baseline.json"], other);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toContain("65.0 MiB is over the 64.0 MiB limit");
    const directory = await runCli([".", "--baseline", "app"], other);
    expect(directory.stderr).toContain("not a regular file (a directory)");
  });

  it("does not quote a file that is not JSON or not TOML", async () => {
    const baseline = await runCli([".", "--baseline", "not-json.txt"], project({ "not-json.txt": "root:x:0:0:root:/root:/bin/bash\n" }));
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toMatch(/cannot read baseline .*not-json\.txt: not valid JSON/);
    expect(baseline.stderr).not.toContain("root:x");
    // A configuration that is a link leading out of the project (a CI secret, say): its position, never its text.
    const secret = project({ "credentials": "a = 1\nsecret_token = AKIA_NOT_TOML\n" });
    const linked = project({ "app.py": "" });
    symlinkSync(join(secret, "credentials"), join(linked, "stalecheck.toml"));
    const config = await runCli(["."], linked);
    expect(config.code).toBe(2);
    expect(config.stderr).toBe("stalecheck: stalecheck.toml:2:16: not valid TOML: invalid value\n");
    expect(config.stderr).not.toContain("AKIA");
  });
});

describe("configuration keys, globs and paths", () => {
  it("reads constructor, toString and __proto__ as unknown keys", async () => {
    for (const key of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      const run = await runCli(["."], project({ "pyproject.toml": `[tool.stalecheck]\n${key} = 1\n` }));
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`unknown key "${key}" in [tool.stalecheck] in pyproject.toml`);
    }
  });

  it("keeps __proto__ and constructor in per-file-ignores as globs", async () => {
    const dir = project({ "__proto__/views.py": redeemView(), "constructor/views.py": redeemView() });
    writeFiles(dir, { "pyproject.toml": `[tool.stalecheck.per-file-ignores]\n"__proto__" = ["STC102"]\n"constructor" = ["STC102"]\n` });
    const run = await runCli([".", "--format", "json"], dir);
    expect(run.stderr).toBe("");
    expect((JSON.parse(run.stdout).findings as { file: string }[]).map((f) => f.file)).toEqual(["app/views.py"]);
    writeFiles(dir, { "pyproject.toml": `[tool.stalecheck.per-file-ignores]\n"toString" = ["nope"]\n` });
    const bad = await runCli(["."], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"per-file-ignores."toString"" names no rule: "nope"');
  });

  it("refuses configuration globs that name nothing or that picomatch cannot compile", async () => {
    for (const [toml, message] of [
      ['exclude = ["/"]', '"exclude": "/" names no file'],
      ['exclude = ["//"]', '"exclude": "//" names no file'],
      [`exclude = ["${"a".repeat(70_000)}"]`, "is not a usable glob: Input length: 70000, exceeds maximum allowed length: 65536"],
      ['[tool.stalecheck.per-file-ignores]\n"/" = ["STC1"]', "must be relative to the directory of the configuration file"],
    ]) {
      const run = await runCli(["."], project({ "pyproject.toml": `[tool.stalecheck]\n${toml}\n` }));
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message!);
      expect(run.stderr).not.toContain("internal error");
    }
  });

  it("keeps a configured baseline inside the configuration's directory", async () => {
    const outside = tempProject({ "secret.json": "{\"version\": 1, \"findings\": {}}" });
    const cases: [string, string][] = [
      [join(outside, "secret.json"), "must be a path relative to the configuration's directory, not the absolute path"],
      ["../../../../../../../../etc/passwd", "leads out of the configuration's directory"],
      ["ci/linked.json", "is or passes through a symbolic link that leads out of the configuration's directory"],
      ["outside/secret.json", "is or passes through a symbolic link that leads out of the configuration's directory"],
    ];
    for (const [baseline, message] of cases) {
      const dir = project({ "pyproject.toml": `[tool.stalecheck]\nbaseline = ${JSON.stringify(baseline)}\n`, "ci/.keep": "" });
      symlinkSync(join(outside, "secret.json"), join(dir, "ci", "linked.json"));
      symlinkSync(outside, join(dir, "outside"));
      const run = await runCli(["."], dir);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`[tool.stalecheck] in pyproject.toml: "baseline"`);
      expect(run.stderr).toContain(message);
    }
  });
});
