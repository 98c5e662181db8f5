/**
 * The language server's state: one Workspace (every file's facts, from a scan that reads the
 * facts cache), the open documents' texts laid over the disk, and the analysis. An edit only
 * marks its document; after a pause (debounced) or at once (open, save) the marked documents
 * are re-extracted, one file each, and the project analysed again from the facts in memory.
 */
import type { Finding } from "../core/finding.js";
import { type FixOptions, proposeFixes } from "../fix/dispatch.js";
import { readPySource } from "../fix/pySource.js";
import { Workspace } from "../fix/workspace.js";
import type { ScanOptions } from "../run/scan.js";

/** How long typing must pause before the project is analysed again. */
export const DEBOUNCE_MS = 250;

export interface Analysis {
  findings: readonly Finding[];
  /** Files re-extracted for this analysis. */
  changed: number;
  /** Re-extraction and analysis, in milliseconds. */
  durationMs: number;
}

export class Session {
  private workspace: Workspace | null = null;
  private readonly loading: Promise<void>;
  /** Open documents' texts, by path relative to the root; `dirty` ones are not extracted yet. */
  private readonly texts = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: ScanOptions,
    private readonly onAnalysis: (analysis: Analysis) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    this.loading = this.load();
  }

  private async load(): Promise<void> {
    const started = performance.now();
    const { workspace } = await Workspace.open(this.options);
    this.workspace = workspace;
    // Documents opened while the scan ran.
    for (const path of this.texts.keys()) this.dirty.add(path);
    await this.flush(started);
  }

  get root(): string | null {
    return this.workspace?.root ?? null;
  }

  /** Waits for the first scan. */
  ready(): Promise<void> {
    return this.loading;
  }

  /** A document opened or changed: analysed after `delayMs` without further changes (0: at once). */
  setText(path: string, text: string, delayMs: number): void {
    this.texts.set(path, text);
    this.dirty.add(path);
    this.schedule(delayMs);
  }

  /** A document closed: the file is read from disk again. */
  close(path: string): void {
    this.texts.delete(path);
    this.dirty.add(path);
    this.schedule(0);
  }

  /** Files changed on disk (a checkout, a formatter): open documents keep their text. */
  diskChanged(paths: readonly string[]): void {
    for (const path of paths) if (!this.texts.has(path)) this.dirty.add(path);
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.workspace) return;
      this.running = this.running.then(() => this.flush(performance.now())).catch(this.onError);
    }, delayMs);
  }

  /** Re-extracts the marked files and analyses the project. */
  private async flush(started: number): Promise<void> {
    const workspace = this.workspace!;
    const changed = [...this.dirty];
    this.dirty.clear();
    for (const path of changed) await workspace.update(path, this.texts.get(path) ?? null);
    const findings = workspace.findings();
    this.onAnalysis({ findings, changed: changed.length, durationMs: Math.round(performance.now() - started) });
  }

  /** The findings of the last analysis in one file. */
  findingsIn(path: string): Finding[] {
    return this.workspace?.findings().filter((f) => f.file === path) ?? [];
  }

  /** Fixes for findings of `path`, computed on the text they were reported for. */
  async fixes(path: string, findings: readonly Finding[]): Promise<FixOptions[]> {
    const workspace = this.workspace;
    const text = workspace?.text(path);
    if (!workspace || text === null || text === undefined || findings.length === 0) return [];
    const transactionNames = workspace.analyser.extract.transactionNames ?? [];
    const suppressions = findings.some((f) => f.rule === "STC001") ? { suppressions: workspace.suppressions() } : {};
    // Twins (other uses of the same check) are resolved with the finding, so they are passed too.
    const all = this.findingsIn(path);
    const proposals = proposeFixes(await readPySource(path, text), all, { transactionNames, ...suppressions });
    return proposals.filter((p) => findings.some((f) => f.fingerprint === p.finding.fingerprint));
  }

  /** Whether the analysed text of `path` is `text` (no edit pending): fixes computed now apply to it. */
  isCurrent(path: string, text: string): boolean {
    return !this.dirty.has(path) && this.workspace?.text(path) === text;
  }
}
