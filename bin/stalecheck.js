#!/usr/bin/env node
// Thin shim: all behaviour lives in dist/cli/main.js (built from src/ by `npm run build`).
import { main } from "../dist/cli/main.js";

const exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
  stdoutIsTTY: Boolean(process.stdout.isTTY),
  stderrIsTTY: Boolean(process.stderr.isTTY),
});
process.exitCode = exitCode;
