/**
 * `stalecheck server`: a Language Server Protocol server over stdio. Diagnostics are published
 * for open Python documents on open, on change (debounced) and on save, with the check site as
 * related information; hover shows the finding and its rule's documentation; quick fixes are
 * the fixes of `check --fix` (safe and unsafe, labelled), plus `source.fixAll.stalecheck`.
 * Unsaved buffers are analysed as they are; the configuration is the workspace root's, as for
 * `stalecheck check`.
 */
import { relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Diagnostic, InitializeParams, InitializeResult } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Finding } from "../core/finding.js";
import { applyFixes } from "../fix/apply.js";
import type { Fix } from "../fix/types.js";
import { TOOL_VERSION } from "../version.js";
import { serverScanOptions } from "./options.js";
import { type DiagnosticData, SOURCE, fixAllAction, hoverFor, toCodeActions, toDiagnostic } from "./protocol.js";
import { DEBOUNCE_MS, Session } from "./session.js";

export interface ServerIO {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  stderr: (text: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

export const SERVER_HELP = `Usage: stalecheck server [--stdio] [--clientProcessId=PID]

Runs the stalecheck language server on standard input and output (the only transport; --stdio
and --clientProcessId are accepted for clients that pass them). It reads the configuration of the workspace root as
\`stalecheck check\` does, keeps the facts cache in .stalecheck-cache under it, and publishes
diagnostics for open Python files, with hover documentation and quick fixes.
`;

/** Runs until the client sends `exit` (the process then ends with 0 after `shutdown`, else 1). */
export async function runServer(argv: readonly string[], io: ServerIO): Promise<number> {
  // Clients add `--stdio` and `--clientProcessId=N` (the protocol library watches that process).
  const unknown = argv.filter((a, i) => a !== "--stdio" && !a.startsWith("--clientProcessId=") && a !== "--clientProcessId" && argv[i - 1] !== "--clientProcessId");
  if (unknown.includes("--help") || unknown.includes("-h")) {
    io.stderr(SERVER_HELP);
    return 0;
  }
  if (unknown.length > 0) {
    io.stderr(`stalecheck server: unknown argument ${unknown[0]}\n${SERVER_HELP}`);
    return 2;
  }
  // Loaded here, not at start-up: a scan should not pay for the protocol library.
  const lsp = await import("vscode-languageserver/node");
  const { TextDocument: Documents } = await import("vscode-languageserver-textdocument");
  const connection = lsp.createConnection(lsp.ProposedFeatures.all, io.input, io.output);
  const documents = new lsp.TextDocuments(Documents);
  const state = { root: resolve(io.cwd), session: null as Session | null, published: new Set<string>() };

  const pathOf = (uri: string): string | null => {
    if (!uri.startsWith("file:")) return null;
    const absolute = fileURLToPath(uri);
    const rel = relative(state.root, absolute);
    if (rel === "" || rel.startsWith("..") || resolve(state.root, rel) !== absolute || !rel.endsWith(".py")) return null;
    return rel.split(sep).join("/");
  };
  const uriOf = (path: string) => pathToFileURL(resolve(state.root, path)).href;

  const publish = (findings: readonly Finding[]) => {
    const open = new Set<string>();
    for (const document of documents.all()) {
      const path = pathOf(document.uri);
      if (!path) continue;
      open.add(document.uri);
      // Edited since this analysis began: its own analysis follows and publishes for that version.
      if (!state.session?.isCurrent(path, document.getText())) continue;
      const diagnostics = findings.filter((f) => f.file === path).map((f) => toDiagnostic(f, document, uriOf));
      void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics });
    }
    // Closed documents lose their diagnostics.
    for (const uri of state.published) if (!open.has(uri)) void connection.sendDiagnostics({ uri, diagnostics: [] });
    state.published = open;
  };

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? null;
    if (folder?.startsWith("file:")) state.root = fileURLToPath(folder);
    else if (params.rootPath) state.root = resolve(params.rootPath);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: lsp.TextDocumentSyncKind.Incremental, save: { includeText: false } },
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [lsp.CodeActionKind.QuickFix, "source.fixAll.stalecheck"] },
      },
      serverInfo: { name: "stalecheck", version: TOOL_VERSION },
    };
  });

  connection.onInitialized(() => {
    let options;
    try {
      options = serverScanOptions(state.root, io.env);
    } catch (error) {
      void connection.window.showErrorMessage(`stalecheck: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    state.session = new Session(
      options,
      (analysis) => {
        connection.console.info(`stalecheck: analysed ${analysis.changed} changed file(s) in ${analysis.durationMs} ms; ${analysis.findings.length} finding(s)`);
        publish(analysis.findings);
      },
      (error) => connection.console.error(`stalecheck: ${error instanceof Error ? error.stack ?? error.message : String(error)}`),
    );
    for (const document of documents.all()) {
      const path = pathOf(document.uri);
      if (path) state.session.setText(path, document.getText(), 0);
    }
    state.session.ready().catch((error: unknown) => void connection.window.showErrorMessage(`stalecheck: the first scan failed: ${error instanceof Error ? error.message : String(error)}`));
  });

  const track = (document: TextDocument, delayMs: number) => {
    const path = pathOf(document.uri);
    if (path && state.session) state.session.setText(path, document.getText(), delayMs);
  };
  documents.onDidOpen(({ document }) => track(document, 0));
  documents.onDidChangeContent(({ document }) => track(document, DEBOUNCE_MS));
  documents.onDidSave(({ document }) => track(document, 0));
  documents.onDidClose(({ document }) => {
    const path = pathOf(document.uri);
    if (path && state.session) state.session.close(path);
  });
  connection.onDidChangeWatchedFiles(({ changes }) => {
    const paths = changes.map((c) => pathOf(c.uri)).filter((p): p is string => p !== null);
    if (paths.length > 0) state.session?.diskChanged(paths);
  });

  /** Findings of the document at its current version, or none while an edit is not analysed yet. */
  const currentFindings = (document: TextDocument): { path: string; findings: Finding[] } | null => {
    const path = pathOf(document.uri);
    if (!path || !state.session || !state.session.isCurrent(path, document.getText())) return null;
    return { path, findings: state.session.findingsIn(path) };
  };

  connection.onHover(async ({ textDocument, position }) => {
    const document = documents.get(textDocument.uri);
    const current = document ? currentFindings(document) : null;
    if (!current) return null;
    const line = position.line + 1;
    const here = current.findings.filter((f) => line >= f.line && line <= Math.max(f.line, f.endLine));
    return hoverFor(here, await state.session!.fixes(current.path, here));
  });

  connection.onCodeAction(async ({ textDocument, context }) => {
    const document = documents.get(textDocument.uri);
    const current = document ? currentFindings(document) : null;
    if (!document || !current) return [];
    const wanted = (kind: string) => !context.only || context.only.some((k) => kind === k || kind.startsWith(`${k}.`));
    const actions = [];
    if (wanted("quickfix")) {
      const ours = context.diagnostics.filter((d: Diagnostic) => d.source === SOURCE && (d.data as DiagnosticData | undefined)?.fingerprint);
      const findings = current.findings.filter((f) => ours.some((d) => (d.data as DiagnosticData).fingerprint === f.fingerprint));
      for (const proposal of await state.session!.fixes(current.path, findings)) {
        const diagnostic = ours.find((d) => (d.data as DiagnosticData).fingerprint === proposal.finding.fingerprint)!;
        actions.push(...toCodeActions(proposal, diagnostic, document, textDocument.uri));
      }
    }
    if (wanted("source.fixAll.stalecheck")) {
      const safe: Fix[] = [];
      const taken = new Set<string>();
      for (const { fixes } of await state.session!.fixes(current.path, current.findings)) {
        const fix = fixes.find((f) => f.safety === "safe");
        if (fix && !fix.resolves.some((id) => taken.has(id))) {
          safe.push(fix);
          for (const id of fix.resolves) taken.add(id);
        }
      }
      const { applied } = await applyFixes(document.getText(), safe);
      const all = fixAllAction(applied, document, textDocument.uri);
      if (all) actions.push(all);
    }
    return actions;
  });

  documents.listen(connection);
  connection.listen();
  // The library ends the process on `exit`; until then this never settles.
  return new Promise<number>(() => undefined);
}
