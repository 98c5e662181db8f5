/**
 * What can be tested here of the pre-commit hooks, the GitHub composite action and the
 * snippets in docs/integrations.md: the hook entries run the CLI as pre-commit would, on the
 * staged file names; the action's scan step runs as GitHub would run it; the snippets parse.
 * Needs the build in dist/ (`npm test` runs `tsc -p .` first).
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CHILD_HANG_GUARD_MS } from "./helpers/hangGuard.js";
import { MODELS, redeemView, removeTempProjects, tempProject, writeFiles } from "./helpers/tempProject.js";
// @ts-expect-error: a plain JavaScript module, run by the action without a build.
import { WordsError, splitWords } from "../scripts/action-scan.mjs";

afterAll(removeTempProjects);

const repoRoot = join(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
/** What `npm install -g` of this package puts on the PATH as `stalecheck`. */
const installedBin = join(repoRoot, pkg.bin.stalecheck);

interface Hook {
  id: string;
  entry: string;
  language: string;
  types?: string[];
  args?: string[];
  pass_filenames?: boolean;
  require_serial?: boolean;
}

const hooks = parseYaml(readFileSync(join(repoRoot, ".pre-commit-hooks.yaml"), "utf8")) as Hook[];
const action = parseYaml(readFileSync(join(repoRoot, "action.yml"), "utf8")) as {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: { id?: string; name: string; uses?: string; run?: string; shell?: string; env?: Record<string, string>; with?: Record<string, string>; if?: string }[] };
};

function exec(file: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(file, args, { cwd: options.cwd, encoding: "utf8", timeout: CHILD_HANG_GUARD_MS, env: { ...process.env, NO_COLOR: "1", ...options.env } },
      (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }));
  });
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** Runs a hook the way pre-commit does: entry words, then the hook's args, then the file names (if it takes them). */
async function runHook(hook: Hook, cwd: string, stagedFiles: string[]) {
  const [command, ...entryArgs] = hook.entry.split(/\s+/);
  expect(command).toBe("stalecheck");
  const files = hook.pass_filenames === false ? [] : stagedFiles;
  return exec(process.execPath, [installedBin, ...entryArgs, ...(hook.args ?? []), ...files], { cwd });
}

/** The staged Python files, as pre-commit selects them for `types: [python]`. */
function stagedPython(cwd: string): string[] {
  return git(cwd, "diff", "--cached", "--name-only", "--diff-filter=ACMR").split("\n").filter((f) => f.endsWith(".py"));
}

describe("pre-commit hooks", () => {
  it("are node hooks on Python files, run once for all files", () => {
    expect(hooks.map((h) => h.id)).toEqual(["stalecheck", "stalecheck-changed"]);
    for (const hook of hooks) {
      expect(hook.language).toBe("node");
      expect(hook.types).toEqual(["python"]);
      expect(hook.require_serial).toBe(true);
    }
    // pre-commit installs the package (npm pack of its clone, or npm install -g git+…): the CLI and
    // its build must be in it. scripts/ci/hook-install.sh (run by .ci/run) installs it for real.
    expect(pkg.files).toEqual(expect.arrayContaining(["bin", "dist"]));
    expect(pkg.scripts.prepare).toBe("node scripts/prepare.mjs");
    expect(pkg.scripts.build).toBe("tsc -p . && node scripts/bundle.mjs");
    expect(existsSync(installedBin)).toBe(true);
  });

  it("prepare writes nothing to npm pack's standard output, which pre-commit 3 reads the tarball name from", () => {
    // npm prints a "> prepare" banner on standard output unless foreground-scripts is off.
    expect(readFileSync(join(repoRoot, ".npmrc"), "utf8")).toMatch(/^foreground-scripts=false$/m);
    const prepare = readFileSync(join(repoRoot, "scripts", "prepare.mjs"), "utf8");
    expect(prepare).not.toMatch(/console\.log|process\.stdout/);
    expect(prepare).toContain('stdio: ["ignore", 2, 2]');
  });

  it("stalecheck: scans the staged file names and fails on their findings", async () => {
    const repo = tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), "app/safe.py": "x = 1\n" });
    git(repo, "init", "-q");
    git(repo, "add", "app/models.py", "app/safe.py");
    git(repo, "commit", "-q", "-m", "initial");
    const hook = hooks.find((h) => h.id === "stalecheck")!;

    // Only a harmless file staged: the unstaged vulnerable view is not looked at.
    writeFiles(repo, { "app/safe.py": "x = 2\n" });
    git(repo, "add", "app/safe.py");
    const clean = await runHook(hook, repo, stagedPython(repo));
    expect(clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain("No findings in 1 file.");

    git(repo, "add", "app/views.py");
    expect(stagedPython(repo)).toEqual(["app/safe.py", "app/views.py"]);
    const dirty = await runHook(hook, repo, stagedPython(repo));
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain("app/views.py:10:5 STC102");
    expect(dirty.stdout).toContain("in 2 files.");
  });

  it("stalecheck-changed: analyses the whole repository and reports the changed files", async () => {
    const repo = tempProject({ "app/models.py": MODELS, "app/old.py": redeemView("old") });
    git(repo, "init", "-q");
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "initial");
    const hook = hooks.find((h) => h.id === "stalecheck-changed")!;
    expect(hook.pass_filenames).toBe(false);
    expect((await runHook(hook, repo, [])).code).toBe(0);
    writeFiles(repo, { "app/views.py": redeemView() });
    git(repo, "add", "app/views.py");
    const run = await runHook(hook, repo, []);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("app/views.py:10:5 STC102");
    expect(run.stdout).not.toContain("app/old.py");
  });
});

describe("GitHub composite action", () => {
  const step = (predicate: (s: (typeof action.runs.steps)[number]) => boolean) => action.runs.steps.find(predicate)!;

  it("checks Node, installs, scans to SARIF, uploads with codeql-action/upload-sarif@v4, then fails on findings", () => {
    expect(action.runs.using).toBe("composite");
    // The caller's Node.js is used as it is: no setup-node, which would change it for the job's later steps.
    expect(action.runs.steps.filter((s) => s.uses?.startsWith("actions/setup-node"))).toEqual([]);
    expect(action.runs.steps[0]!.run).toContain("Node.js 20 or later");
    const upload = step((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@") ?? false);
    expect(upload.uses).toBe("github/codeql-action/upload-sarif@v4");
    expect(upload.with).toEqual({ sarif_file: "${{ inputs.sarif-file }}", category: "${{ inputs.category }}" });
    expect(upload.if).toBe("${{ inputs.upload == 'true' }}");
    const names = action.runs.steps.map((s) => s.id ?? s.uses ?? s.name);
    expect(names.indexOf("scan")).toBeLessThan(names.findIndex((n) => n.startsWith("github/codeql-action/upload-sarif")));
    expect(action.runs.steps.at(-1)!.if).toBe("${{ inputs.fail-on-findings == 'true' && steps.scan.outputs.exit-code == '1' }}");
    expect(Object.keys(action.inputs)).toEqual(["path", "args", "sarif-file", "upload", "category", "fail-on-findings"]);
  });

  it("the Node check refuses a Node.js older than 20 and passes this one", async () => {
    const check = action.runs.steps[0]!;
    const dir = tempProject({ "bin/node": "#!/bin/sh\nif [ \"$1\" = -e ]; then exec \"$REAL_NODE\" -e \"Object.defineProperty(process.versions, 'node', {value: '18.19.0'}); $2\"; fi\n" });
    execFileSync("chmod", ["+x", join(dir, "bin", "node")]);
    const old = await exec("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", check.run!], { cwd: dir, env: { PATH: `${join(dir, "bin")}:${process.env.PATH}`, REAL_NODE: process.execPath } });
    expect(old.code).toBe(2);
    expect(old.stdout).toContain("::error title=stalecheck::stalecheck needs Node.js 20 or later");
    const current = await exec("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", check.run!], { cwd: dir });
    expect(current.code).toBe(0);
  });

  /** Runs the scan step's script as GitHub runs a bash step, with the action's inputs in its environment. */
  async function runScanStep(inputs: Record<string, string>, files: Record<string, string> = {}) {
    const scan = step((s) => s.id === "scan");
    expect(scan.shell).toBe("bash");
    const workspace = tempProject({ "app/models.py": MODELS, "app/views.py": redeemView(), ...files });
    const output = join(workspace, "github_output");
    const withInputs = { ...Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, v.default ?? ""])), ...inputs };
    const env: Record<string, string> = { GITHUB_OUTPUT: output, GITHUB_ACTION_PATH: repoRoot };
    for (const [name, value] of Object.entries(scan.env!)) {
      env[name] = value
        .replace("${{ github.action_path }}", repoRoot)
        .replace(/\$\{\{ inputs\.([\w-]+) \}\}/g, (_, input: string) => withInputs[input]!);
    }
    writeFiles(workspace, { "github_output": "" });
    const run = await exec("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", scan.run!], { cwd: workspace, env });
    return { ...run, workspace, outputs: readFileSync(output, "utf8"), sarifFile: join(workspace, withInputs["sarif-file"]!) };
  }

  it("the scan step writes SARIF, records exit code 1 for findings and lets the upload run", async () => {
    const run = await runScanStep({ args: "--select STC1 --fail-on low" });
    expect(run.code, run.stderr).toBe(0);
    expect(run.outputs).toBe("exit-code=1\n");
    const sarif = JSON.parse(readFileSync(run.sarifFile, "utf8"));
    expect(sarif.version).toBe("2.1.0");
    expect(sarif.runs[0].results.map((r: any) => `${r.locations[0].physicalLocation.artifactLocation.uri}:${r.ruleId}`)).toEqual(["app/views.py:STC102"]);
  });

  it("the scan step records 0 without findings at the threshold, and fails at once on a usage error", async () => {
    const quiet = await runScanStep({ args: "--fail-on critical", "sarif-file": "report.sarif" });
    expect(quiet.code).toBe(0);
    expect(quiet.outputs).toBe("exit-code=0\n");
    expect(existsSync(quiet.sarifFile)).toBe(true);
    const broken = await runScanStep({ args: "--fail-on sometimes" });
    expect(broken.code).toBe(2);
    expect(broken.outputs).toBe("exit-code=2\n");
    expect(broken.stderr).toContain("--fail-on must be one of");
  });
  it("the scan step passes a glob in args to stalecheck unexpanded, and quoted paths whole", async () => {
    const legacy = { "legacy/a_old.py": redeemView("a"), "legacy/b_old.py": redeemView("b"), "other dir/views.py": redeemView("other") };
    const run = await runScanStep({ args: "--exclude legacy/*_old.py --fail-on low", path: "app 'other dir'" }, legacy);
    expect(run.code, run.stderr).toBe(0);
    expect(run.outputs).toBe("exit-code=1\n");
    const sarif = JSON.parse(readFileSync(run.sarifFile, "utf8"));
    expect(sarif.runs[0].results.map((r: any) => r.locations[0].physicalLocation.artifactLocation.uri)).toEqual(["app/views.py", "other%20dir/views.py"]);
  });

  it("the scan step fails with exit 2 on an input it cannot split", async () => {
    const run = await runScanStep({ args: "--exclude 'legacy" });
    expect(run.code).toBe(2);
    expect(run.outputs).toBe("exit-code=2\n");
    expect(run.stdout).toContain("::error title=stalecheck::the action's input cannot be read: unterminated ' quote");
  });
});

describe("the action's argument handling", () => {
  it("splits words as a shell would, with quotes and backslashes, and expands nothing", () => {
    expect(splitWords("  --exclude legacy/*_old.py   --select STC1 ")).toEqual(["--exclude", "legacy/*_old.py", "--select", "STC1"]);
    expect(splitWords(`--exclude 'my dir/*.py' "a \\"b\\" $HOME" c\\ d`)).toEqual(["--exclude", "my dir/*.py", 'a "b" $HOME', "c d"]);
    expect(splitWords("$(touch pwned) `id` ~ {a,b} ''")).toEqual(["$(touch", "pwned)", "`id`", "~", "{a,b}", ""]);
    expect(splitWords("")).toEqual([]);
    expect(() => splitWords("--exclude 'open")).toThrow(WordsError);
  });
});

describe("docs/integrations.md", () => {
  const doc = readFileSync(join(repoRoot, "docs", "integrations.md"), "utf8");
  const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it("has snippets for pre-commit, GitHub Actions and GitLab CI that parse", () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(6);
    for (const block of yamlBlocks) expect(() => parseYaml(block)).not.toThrow();
    for (const heading of ["## pre-commit", "## GitHub Actions and code scanning", "## GitLab CI"]) expect(doc).toContain(heading);
  });

  it("names hooks and action inputs that exist", () => {
    const ids = new Set(hooks.map((h) => h.id));
    for (const block of yamlBlocks) {
      const parsed = parseYaml(block) as Record<string, any>;
      for (const repo of parsed?.repos ?? []) for (const hook of repo.hooks) expect(ids.has(hook.id), hook.id).toBe(true);
      for (const job of Object.values(parsed?.jobs ?? {}) as { steps: { uses?: string; with?: Record<string, string> }[] }[]) {
        for (const s of job.steps.filter((x) => x.uses?.startsWith("stalecheck/stalecheck@"))) {
          for (const input of Object.keys(s.with ?? {})) expect(Object.keys(action.inputs)).toContain(input);
        }
      }
    }
    for (const input of Object.keys(action.inputs)) expect(doc).toContain(`| \`${input}\` |`);
  });
});
