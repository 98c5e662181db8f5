/** Runs the CLI without colours or a cache: in-process (runCli), or the built bin as a child process (runBuiltCli). */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type CliIO, main } from "../../src/cli/main.js";

export async function runCli(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, env: { NO_COLOR: "1" }, stdoutIsTTY: false };
  const code = await main([...argv, "--no-cache"], io);
  return { code, stdout, stderr };
}

const BIN = new URL("../../bin/stalecheck.js", import.meta.url);

/**
 * Runs the built CLI (`npm test` builds it first) as a child process, without a cache, with a
 * deadline: for cases where a regression would block on a FIFO or read /dev/zero without end,
 * so that the test fails (code null) instead of hanging or crashing the test runner.
 */
export function runBuiltCli(argv: string[], cwd: string, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath, [fileURLToPath(BIN), ...argv, "--no-cache"],
      { cwd, encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } },
      (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }),
    );
  });
}
