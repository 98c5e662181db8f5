#!/usr/bin/env node
/**
 * The GitHub Action's scan step (action.yml): runs stalecheck on the `path` input with the
 * `args` input, writing SARIF, and records the exit code as the step's `exit-code` output.
 *
 * Both inputs are one string each. They are split into words as a shell splits words, with
 * single quotes, double quotes and backslashes, and nothing else: no globbing (`--exclude
 * legacy/*_old.py` stays one glob, for stalecheck to match), no variables, no command
 * substitution. Exit code 1 (findings) is acted on by a later step, after the upload.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export class WordsError extends Error {}

/** Splits `text` into words: whitespace separates, '…' is literal, "…" and \ escape as in sh. */
export function splitWords(text) {
  const words = [];
  let word = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
      continue;
    }
    word ??= "";
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new WordsError(`unterminated ' quote in: ${text}`);
      word += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        // In double quotes a backslash escapes only ", \, $ and `, as in sh.
        if (text[j] === "\\" && j + 1 < text.length && `"\\$\``.includes(text[j + 1])) j++;
        word += text[j];
      }
      if (j >= text.length) throw new WordsError(`unterminated " quote in: ${text}`);
      i = j;
    } else if (c === "\\") {
      if (i + 1 < text.length) word += text[++i];
    } else {
      word += c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

function main() {
  const env = process.env;
  const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "stalecheck.js");
  let paths;
  let args;
  try {
    paths = splitWords(env.STALECHECK_PATHS ?? "");
    args = splitWords(env.STALECHECK_ARGS ?? "");
  } catch (error) {
    process.stdout.write(`::error title=stalecheck::the action's input cannot be read: ${error.message}\n`);
    return record(2);
  }
  const sarif = env.STALECHECK_SARIF || "stalecheck.sarif";
  const argv = [bin, "check", ...args, "--no-progress", "--format", "sarif", "--output", sarif, "--", ...(paths.length > 0 ? paths : ["."])];
  const run = spawnSync(process.execPath, argv, { stdio: "inherit" });
  return record(run.status ?? 2);
}

function record(status) {
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `exit-code=${status}\n`);
  // 2 and above (usage, configuration or internal error) fail the step at once, before the upload.
  process.exitCode = status >= 2 ? status : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
