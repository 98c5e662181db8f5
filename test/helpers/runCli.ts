/** Runs the CLI entry point in-process, without colours or a cache, and collects its output. */
import { type CliIO, main } from "../../src/cli/main.js";

export async function runCli(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, env: { NO_COLOR: "1" }, stdoutIsTTY: false };
  const code = await main([...argv, "--no-cache"], io);
  return { code, stdout, stderr };
}
