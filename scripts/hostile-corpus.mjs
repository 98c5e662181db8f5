#!/usr/bin/env node
/**
 * Generates the hostile-input corpus of issue 5 into a directory (nothing of it is committed):
 * broken, binary, huge, pathologically deep and unreadable files next to good files with real
 * findings. `generateHostileCorpus()` returns a manifest saying what the scanner must do with
 * each path; test/hostile.test.ts scans the tree and checks it.
 *
 *   node scripts/hostile-corpus.mjs OUT_DIR     # writes OUT_DIR/tree (scan this) and OUT_DIR/outside
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURES = fileURLToPath(new URL("../test/fixtures/rules/", import.meta.url));

/**
 * What the scanner must do with a path of the tree:
 * - "findings": read without errors, and report exactly the `# expect:` markers of `markersFrom`;
 * - "clean": read without errors or findings;
 * - "error": one or more errors[] entries for this path whose message matches `reason`;
 * - "parsed": read (pathological but valid, or readable by the grammar): no internal error,
 *   and any error is a syntax problem or the per-file time budget;
 * - "absent": neither scanned nor reported (directory symlinks, links leaving the tree).
 * `why` says what the case is, for test names and the docs.
 */
export function generateHostileCorpus(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  const root = join(outDir, "tree");
  const outside = join(outDir, "outside");
  mkdirSync(root, { recursive: true });
  mkdirSync(outside, { recursive: true });
  const manifest = [];
  const add = (path, content, expectation) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    if (content !== null) writeFileSync(file, content);
    manifest.push({ path, ...expectation });
  };
  const fixture = (name) => readFileSync(join(FIXTURES, name), "utf8");
  const SYNTAX = /syntax error|missing/;

  // Good files: real findings that must survive the hostile neighbours.
  add("good/views.py", fixture("STC102/function_views.py"), { expect: "findings", markersFrom: "good/views.py", why: "fixture with real findings" });
  add("good/tabs_crlf.py", toTabsAndCrlf(fixture("STC101/function_views.py")), { expect: "findings", markersFrom: "good/tabs_crlf.py", why: "tab indentation and CRLF line ends" });
  add("good/bom.py", `\ufeff${fixture("STC108/quotas.py")}`, { expect: "findings", markersFrom: "good/bom.py", why: "UTF-8 byte order mark" });
  add("good/empty.py", "", { expect: "clean", why: "empty file" });
  add("good/prototype_names.py", PROTOTYPE_NAMES, { expect: "findings", markersFrom: "good/prototype_names.py", why: "Python names that are JavaScript object members" });
  add("good/comments_only.py", "# A file that is only comments.\n#\n# def f(): pass\n" + "# filler\n".repeat(200), { expect: "clean", why: "only comments" });

  // Broken source: reported, never crashed on.
  add("broken/syntax_errors.py", "import os\n\ndef ok(request):\n    return os.getcwd()\n\ndef broken(:\n    return = 1\n\nclass C(\n    x = ]\n", { expect: "error", reason: SYNTAX, why: "syntax errors" });
  const lines = fixture("STC105/function_views.py").split("\n");
  lines.splice(Math.floor(lines.length / 2), 0, "pending = compute(1, [2, {3: (4,");
  add("broken/unclosed_bracket.py", lines.join("\n"), { expect: "error", reason: SYNTAX, why: "unclosed bracket mid-file" });
  // tree-sitter-python reads print/exec statements, `except E, e` and backticks, so Python 2
  // code is analysed like any other, not reported; anything it cannot read is a syntax error.
  add("broken/python2.py", PYTHON2, { expect: "error", reason: /Python 2 syntax/, why: "Python 2 code" });
  add("broken/invalid_utf8.py", Buffer.concat([Buffer.from("name = '"), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from("'\n")]), { expect: "error", reason: /not valid UTF-8/, why: "invalid UTF-8" });
  add("broken/binary.py", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x10]), { expect: "error", reason: /binary file/, why: "NUL-containing binary named .py" });

  // Size and depth.
  add("big/generated_20mb.py", null, { expect: "error", reason: /file size limit/, why: "20 MB generated file" });
  writeGenerated(join(root, "big/generated_20mb.py"), 20 * 1024 * 1024);
  add("deep/nested_parens.py", `value = ${"(".repeat(50_000)}1${")".repeat(50_000)}\n`, { expect: "parsed", why: "50,000 nested parentheses" });
  add("deep/boolean_chain.py", `def allowed(u):\n    return ${Array.from({ length: 100_000 }, (_, i) => `u.flag${i}`).join(" or ")}\n`, { expect: "parsed", why: "100,000-term boolean chain" });
  add("deep/method_chain.py", `def rows(request):\n    return Invoice.objects${Array.from({ length: 10_000 }, (_, i) => `.filter(f${i}=1)`).join("")}.first()\n`, { expect: "parsed", why: "10,000 chained method calls" });
  add("deep/if_nest.py", null, { expect: "parsed", why: "5,000-deep if nest (1-space indentation, 12.5 MB)" });
  writeIfNest(join(root, "deep/if_nest.py"), 5_000);

  // Links: a loop, links leaving the tree, links to things that cannot be read as files.
  mkdirSync(join(root, "links"), { recursive: true });
  symlinkSync(".", join(root, "links/loop"));
  symlinkSync("loop_b.py", join(root, "links/loop_a.py"));
  symlinkSync("loop_a.py", join(root, "links/loop_b.py"));
  manifest.push({ path: "links/loop", expect: "absent", why: "directory symlink loop (not followed)" });
  manifest.push({ path: "links/loop_a.py", expect: "error", reason: /symbolic link loop/, why: "file symlink loop" });
  manifest.push({ path: "links/loop_b.py", expect: "error", reason: /symbolic link loop/, why: "file symlink loop" });
  writeFileSync(join(outside, "leak.py"), fixture("STC102/function_views.py"));
  symlinkSync(outside, join(root, "links/outside_dir"));
  symlinkSync(join(outside, "leak.py"), join(root, "links/outside_file.py"));
  manifest.push({ path: "links/outside_dir", expect: "absent", why: "directory symlink pointing outside the root" });
  manifest.push({ path: "links/outside_file.py", expect: "error", reason: /outside the scanned directory/, why: "file symlink pointing outside the root" });

  // Unreadable as root too (chmod 000 does not stop root): a .py that is a directory, a FIFO.
  mkdirSync(join(root, "unreadable"), { recursive: true });
  symlinkSync("../good", join(root, "unreadable/directory.py"));
  manifest.push({ path: "unreadable/directory.py", expect: "error", reason: /not a regular file|EISDIR/, why: "unreadable: a .py name that is a directory" });
  execFileSync("mkfifo", [join(root, "unreadable/pipe_target")]);
  symlinkSync("pipe_target", join(root, "unreadable/pipe.py"));
  manifest.push({ path: "unreadable/pipe.py", expect: "error", reason: /not a regular file/, why: "unreadable: a .py that is a FIFO (reading it would block)" });

  return { root, outside, manifest };
}

function toTabsAndCrlf(source) {
  return source
    .split("\n")
    .map((line) => {
      const indent = /^ */.exec(line)[0].length;
      return "\t".repeat(Math.floor(indent / 4)) + " ".repeat(indent % 4) + line.slice(indent);
    })
    .join("\r\n");
}

/** A syntactically valid file of `bytes` bytes made of small, distinct functions. */
function writeGenerated(path, bytes) {
  const fd = openSync(path, "w");
  let written = 0;
  for (let i = 0; written < bytes; i++) {
    const chunk = `def generated_${i}(request):\n    value = request.GET.get("k${i}")\n    return value\n\n`;
    written += writeSync(fd, chunk);
  }
  closeSync(fd);
}

/** `depth` nested ifs, one space of indentation per level (Python accepts any consistent indent). */
function writeIfNest(path, depth) {
  const fd = openSync(path, "w");
  writeSync(fd, "def deep(request):\n");
  let buffer = "";
  for (let level = 1; level <= depth; level++) {
    buffer += `${" ".repeat(level)}if request.user.flag_${level}:\n`;
    if (buffer.length > 1 << 20) {
      writeSync(fd, buffer);
      buffer = "";
    }
  }
  buffer += `${" ".repeat(depth + 1)}return 1\n`;
  writeSync(fd, buffer);
  closeSync(fd);
}

/** Names the analysis looks up in the facts' plain objects (imports, models): never the prototype's. */
const PROTOTYPE_NAMES = `from .models import Thing
import constructor as hasOwnProperty


def view(request):
    if constructor.objects.filter(owner=request.user).exists():
        return None
    constructor.objects.create(owner=request.user)  # expect: STC108
    toString.helper()
    __proto__.x()
    valueOf = hasOwnProperty.check(request)
    if not toString(request.user):
        return None
    Thing.objects.filter(pk=1).update(x=1)
`;

const PYTHON2 = `# -*- coding: utf-8 -*-
import urllib2

def legacy(request):
    print "user:", request.user
    try:
        data = urllib2.urlopen("http://example.invalid").read()
    except IOError, e:
        print >>sys.stderr, "failed", e
        raise SystemExit, 1
    exec "x = 1"
    mode = 0777
    return \`data\`
`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: node scripts/hostile-corpus.mjs OUT_DIR");
    process.exit(2);
  }
  const { root, manifest } = generateHostileCorpus(resolve(out));
  console.log(`wrote ${manifest.length} cases under ${root}`);
  for (const entry of manifest) console.log(`  ${entry.expect.padEnd(15)} ${entry.path}  (${entry.why})`);
}
