/**
 * `stalecheck server` driven as an editor drives it: the built CLI spawned, JSON-RPC over its
 * stdin and stdout. Initialize, open a file, receive its diagnostics (with the check as related
 * information), hover, ask for code actions, apply the safe quick fix to the unsaved buffer,
 * see the diagnostic go away, close, shut down, exit. No timing assertions: each wait is for a
 * message, with a hang guard only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type MessageConnection, StreamMessageReader, StreamMessageWriter, createMessageConnection } from "vscode-jsonrpc/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { removeTempProjects, tempProject } from "../helpers/tempProject.js";

const children: ChildProcess[] = [];
afterAll(() => {
  // A server a failed test left running: ended by its own pid.
  for (const child of children) if (child.exitCode === null) child.kill();
  removeTempProjects();
});

const BIN = join(import.meta.dirname, "..", "..", "bin", "stalecheck.js");

interface Diagnostic {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  code: string;
  source: string;
  message: string;
  relatedInformation?: { location: { uri: string; range: unknown }; message: string }[];
  data?: unknown;
}
interface Published {
  uri: string;
  version?: number;
  diagnostics: Diagnostic[];
}
interface CodeAction {
  title: string;
  kind: string;
  isPreferred?: boolean;
  edit: { documentChanges: { textDocument: { uri: string; version: number }; edits: { range: Diagnostic["range"]; newText: string }[] }[] };
}

const MODELS = `from django.db import models


class Voucher(models.Model):
    code = models.CharField(max_length=32)
    used = models.BooleanField(default=False)
    redeemed_by = models.ForeignKey("auth.User", null=True, on_delete=models.SET_NULL)
`;

const VIEWS = `from django.http import HttpResponse

from .models import Voucher


def redeem(request, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return HttpResponse(status=409)
    voucher.used = True
    voucher.redeemed_by = request.user
    voucher.save()
    return HttpResponse(status=204)


def void(request, pk):
    if not request.user.has_perm("app.delete_voucher"):
        return HttpResponse(status=403)
    Voucher.objects.filter(pk=pk).delete()
    return HttpResponse(status=204)
`;

/** A client: sends requests, and collects published diagnostics until one satisfies a wait. */
class Client {
  readonly connection: MessageConnection;
  private readonly published: Published[] = [];
  private waiters: { test: (p: Published) => boolean; done: (p: Published) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    this.connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    this.connection.onNotification("textDocument/publishDiagnostics", (p: Published) => {
      this.published.push(p);
      this.waiters = this.waiters.filter((w) => (w.test(p) ? (w.done(p), false) : true));
    });
    this.connection.onNotification("window/logMessage", () => undefined);
    this.connection.listen();
    this.exited = new Promise((done) => child.on("exit", (code) => done(code)));
  }

  /** The first diagnostics published (already, or later) that pass `test`. */
  diagnostics(test: (p: Published) => boolean): Promise<Published> {
    const already = this.published.find(test);
    if (already) return Promise.resolve(already);
    return new Promise((done) => this.waiters.push({ test, done }));
  }
}

function start(root: string): Client {
  const child = spawn(process.execPath, [BIN, "server", "--stdio"], { cwd: root, env: { ...process.env, NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  return new Client(child);
}

async function initialize(client: Client, root: string): Promise<{ capabilities: Record<string, unknown> }> {
  const result = await client.connection.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    workspaceFolders: [{ uri: pathToFileURL(root).href, name: "project" }],
    capabilities: {
      textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true }, codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ["quickfix", "source.fixAll"] } } }, hover: { contentFormat: ["markdown"] } },
      workspace: { workspaceEdit: { documentChanges: true } },
    },
  });
  await client.connection.sendNotification("initialized", {});
  return result;
}

const codes = (p: Published) => p.diagnostics.map((d) => d.code).sort();

describe("stalecheck server", () => {
  it("publishes diagnostics, hovers the rule's docs, offers quick fixes, and clears a diagnostic once its fix is applied", async () => {
    // Strict: the revocable permission in void() is reported too (a narrow window by default).
    const root = tempProject({ "pyproject.toml": "[tool.stalecheck]\nstrict = true\n", "app/__init__.py": "", "app/models.py": MODELS, "app/views.py": VIEWS });
    const client = start(root);
    const init = await initialize(client, root);
    expect(init.capabilities).toMatchObject({ hoverProvider: true, codeActionProvider: { codeActionKinds: ["quickfix", "source.fixAll.stalecheck"] } });

    const uri = pathToFileURL(join(root, "app", "views.py")).href;
    await client.connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "python", version: 1, text: VIEWS } });
    const opened = await client.diagnostics((p) => p.uri === uri && p.version === 1);
    expect(codes(opened)).toEqual(["STC101", "STC102"]);
    const stc102 = opened.diagnostics.find((d) => d.code === "STC102")!;
    expect(stc102).toMatchObject({ source: "stalecheck", range: { start: { line: 11, character: 4 }, end: { line: 11, character: 18 } } });
    expect(stc102.relatedInformation).toEqual([{ location: { uri, range: { start: { line: 7, character: 0 }, end: { line: 8, character: 0 } } }, message: "check: if voucher.used:" }]);

    const hover = await client.connection.sendRequest<{ contents: { kind: string; value: string } }>("textDocument/hover", { textDocument: { uri }, position: { line: 11, character: 6 } });
    expect(hover.contents.kind).toBe("markdown");
    expect(hover.contents.value).toContain("**STC102 missing-row-lock**");
    expect(hover.contents.value).toContain("**Quick fix (safe):** Fetch `voucher` with select_for_update()");
    expect(hover.contents.value).toContain("# STC102 missing-row-lock");
    expect(hover.contents.value).toContain("## Fixes");

    const fixAllBefore = await client.connection.sendRequest<CodeAction[]>("textDocument/codeAction", {
      textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics: [], only: ["source.fixAll"] },
    });
    expect(fixAllBefore.map((a) => [a.kind, a.title])).toEqual([["source.fixAll.stalecheck", "Fix all safely fixable stalecheck findings (1)"]]);

    const actions = await client.connection.sendRequest<CodeAction[]>("textDocument/codeAction", {
      textDocument: { uri }, range: stc102.range, context: { diagnostics: [stc102], only: ["quickfix"] },
    });
    expect(actions.map((a) => [a.kind, a.isPreferred, a.title.endsWith("(safe fix)")])).toEqual([["quickfix", true, true], ["quickfix", false, false]]);
    const change = actions[0]!.edit.documentChanges[0]!;
    expect(change.textDocument).toEqual({ uri, version: 1 });
    const fixed = TextDocument.applyEdits(TextDocument.create(uri, "python", 1, VIEWS), change.edits);
    expect(fixed).toContain("    with transaction.atomic():\n        voucher = Voucher.objects.select_for_update().get(code=code)");

    // The fix goes into the unsaved buffer; the analysis follows the buffer, not the disk.
    await client.connection.sendNotification("textDocument/didChange", { textDocument: { uri, version: 2 }, contentChanges: [{ text: fixed }] });
    const after = await client.diagnostics((p) => p.uri === uri && p.version === 2);
    expect(codes(after)).toEqual(["STC101"]);

    const fixAll = await client.connection.sendRequest<CodeAction[]>("textDocument/codeAction", {
      textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics: [], only: ["source.fixAll"] },
    });
    expect(fixAll).toEqual([]);

    await client.connection.sendNotification("textDocument/didClose", { textDocument: { uri } });
    await client.diagnostics((p) => p.uri === uri && p.diagnostics.length === 0);
    await client.connection.sendRequest("shutdown");
    await client.connection.sendNotification("exit");
    expect(await client.exited).toBe(0);
  });

  it("reads the configuration from the root's pyproject.toml, and re-analyses open files when another unsaved one changes", async () => {
    const views = `from django.db import IntegrityError
from django.http import HttpResponse

from .models import Voucher


def issue(request, code):
    if Voucher.objects.filter(code=code).exists():
        return HttpResponse(status=409)
    try:
        Voucher.objects.create(code=code)
    except IntegrityError:
        return HttpResponse(status=409)
    return HttpResponse(status=201)
${VIEWS.slice(VIEWS.indexOf("\n\ndef redeem"))}`;
    const root = tempProject({ "pyproject.toml": '[tool.stalecheck]\nignore = ["STC101"]\n', "app/__init__.py": "", "app/models.py": MODELS, "app/views.py": views });
    const client = start(root);
    await initialize(client, root);
    const viewsUri = pathToFileURL(join(root, "app", "views.py")).href;
    const modelsUri = pathToFileURL(join(root, "app", "models.py")).href;
    await client.connection.sendNotification("textDocument/didOpen", { textDocument: { uri: viewsUri, languageId: "python", version: 1, text: views } });
    expect(codes(await client.diagnostics((p) => p.uri === viewsUri))).toEqual(["STC102", "STC108"]);
    await client.connection.sendNotification("textDocument/didOpen", { textDocument: { uri: modelsUri, languageId: "python", version: 1, text: MODELS } });
    // A unique code, typed but not saved, in the models: the views' check-then-create, which
    // handles the IntegrityError, is safe now.
    const unique = MODELS.replace("models.CharField(max_length=32)", "models.CharField(max_length=32, unique=True)");
    await client.connection.sendNotification("textDocument/didChange", { textDocument: { uri: modelsUri, version: 2 }, contentChanges: [{ text: unique }] });
    expect(codes(await client.diagnostics((p) => p.uri === viewsUri && !codes(p).includes("STC108")))).toEqual(["STC102"]);
    await client.connection.sendRequest("shutdown");
    await client.connection.sendNotification("exit");
    expect(await client.exited).toBe(0);
  });
});
