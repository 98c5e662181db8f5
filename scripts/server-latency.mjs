#!/usr/bin/env node
/**
 * How long `stalecheck server` takes to answer a one-file edit on a real project:
 *
 *   npm run build && node scripts/server-latency.mjs /path/to/django/project [relative/file.py] [edits]
 *
 * The server keeps its facts cache in the project's .stalecheck-cache: measure on a copy.
 * Spawns the built server on the project, waits for the first scan, opens the file, then
 * sends `edits` edits (default 20), each after the previous one's diagnostics arrived, and
 * prints the time from each `didChange` to its `publishDiagnostics`, less the debounce, and the
 * re-extraction and analysis time the server logs. Not a test: a measurement for docs.
 */
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from "vscode-jsonrpc/node";

const DEBOUNCE_MS = 250;
const root = process.argv[2];
if (!root) {
  console.error("usage: node scripts/server-latency.mjs PROJECT [FILE] [EDITS]");
  process.exit(2);
}
const edits = Number(process.argv[4] ?? 20);

function pythonFiles(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) pythonFiles(path, out);
    else if (entry.name.endsWith(".py")) out.push(path);
  }
  return out;
}

const files = pythonFiles(root);
const lines = files.reduce((n, f) => n + readFileSync(f, "utf8").split("\n").length, 0);
// Default: the largest views.py, a file people edit and whose findings depend on the rest.
const file = process.argv[3] ? join(root, process.argv[3]) : files.filter((f) => f.endsWith("views.py") && !f.includes("/tests/")).sort((a, b) => statSync(b).size - statSync(a).size)[0];
const text = readFileSync(file, "utf8");
const uri = pathToFileURL(file).href;

const bin = join(import.meta.dirname, "..", "bin", "stalecheck.js");
const child = spawn(process.execPath, [bin, "server"], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
let waiting = null;
const logged = [];
connection.onNotification("textDocument/publishDiagnostics", (p) => {
  if (p.uri === uri && waiting && p.version === waiting.version) waiting.done(p);
});
connection.onNotification("window/logMessage", (m) => logged.push(m.message));
connection.listen();
const published = (version) => new Promise((done) => (waiting = { version, done }));

const started = performance.now();
await connection.sendRequest("initialize", { processId: process.pid, rootUri: pathToFileURL(root).href, capabilities: {} });
await connection.sendNotification("initialized", {});
const first = published(1);
await connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "python", version: 1, text } });
const opened = await first;
console.log(`${files.length} Python files, ${lines} lines; ${relative(root, file)} (${text.split("\n").length} lines)`);
console.log(`first scan and diagnostics: ${((performance.now() - started) / 1000).toFixed(2)} s (${opened.diagnostics.length} diagnostics; ${logged.at(-1)})`);

const answers = [];
const analyses = [];
for (let version = 2; version < 2 + edits; version++) {
  // A comment typed at the end of the file: the file must be parsed and the project analysed again.
  const next = published(version);
  const sent = performance.now();
  await connection.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges: [{ text: `${text}\n# edit ${version}\n` }] });
  await next;
  answers.push(performance.now() - sent - DEBOUNCE_MS);
  analyses.push(Number(/in (\d+) ms/.exec(logged.at(-1) ?? "")?.[1] ?? NaN));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`one-file edit, didChange to publishDiagnostics less the ${DEBOUNCE_MS} ms debounce: median ${median(answers).toFixed(0)} ms, max ${Math.max(...answers).toFixed(0)} ms over ${edits} edits`);
console.log(`of which re-extraction and analysis (server log): median ${median(analyses)} ms, max ${Math.max(...analyses)} ms`);
await connection.sendRequest("shutdown");
await connection.sendNotification("exit");
