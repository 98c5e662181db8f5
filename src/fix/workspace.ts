/**
 * A project held in memory: every file's facts, from one scan (which reads and fills the facts
 * cache), then re-extracted one file at a time as its text changes (a fix applied, an editor
 * buffer edited), and the project analysed again from the facts. Files not changed are never
 * parsed again. `--fix` and the language server both work on one.
 */
import { readSource } from "../discover/readSource.js";
import { extractFileFacts } from "../extract/extractFileFacts.js";
import type { FileFacts } from "../extract/facts.js";
import type { Finding } from "../core/finding.js";
import type { ScanResult } from "../core/result.js";
import { buildProject } from "../project/buildProject.js";
import { analyse } from "../analysis/engine.js";
import { covers } from "../analysis/suppressions.js";
import { DEFAULT_MAX_FILE_BYTES, type FactsAnalyser, type ScanOptions, factsAnalyser, scan } from "../run/scan.js";
import { join } from "node:path";
import type { SuppressionContext } from "./unusedSuppression.js";

export class Workspace {
  private findingsMemo: Finding[] | null;
  private suppressionMemo: SuppressionContext | null = null;
  /** Texts that differ from the disk (fixed, or an editor's unsaved buffer), by relative path. */
  private readonly overlays = new Map<string, string>();

  private constructor(
    readonly analyser: FactsAnalyser,
    private readonly options: ScanOptions,
    private facts: FileFacts[],
    findings: Finding[],
  ) {
    this.findingsMemo = findings;
  }

  /** Scans as `scan(options)` does and keeps the facts; also returns the scan's result. */
  static async open(options: ScanOptions): Promise<{ workspace: Workspace; result: ScanResult }> {
    let facts: readonly FileFacts[] = [];
    let root = "";
    const result = await scan({ ...options, onFacts: (f, r) => ((facts = f), (root = r)) });
    const workspace = new Workspace(factsAnalyser(options, root || result.root), options, [...facts], result.findings);
    return { workspace, result };
  }

  get root(): string {
    return this.analyser.root;
  }

  /** Relative paths of the files in the project, in discovery order. */
  get files(): string[] {
    return this.facts.map((f) => f.path);
  }

  has(path: string): boolean {
    return this.facts.some((f) => f.path === path);
  }

  /** The findings for the current texts, analysed once per change. */
  findings(): Finding[] {
    this.findingsMemo ??= this.analyser.findings(this.facts);
    return this.findingsMemo;
  }

  /** The file's current text: its overlay, else what is on disk; null when it cannot be read. */
  text(path: string): string | null {
    const overlay = this.overlays.get(path);
    if (overlay !== undefined) return overlay;
    const read = readSource(join(this.root, path), this.options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    return read.ok ? read.text : null;
  }

  /** Whether the file's text differs from the disk. */
  isOverlaid(path: string): boolean {
    return this.overlays.has(path);
  }

  /**
   * Gives a file new text (null: back to what is on disk) and re-extracts only that file. A
   * path the scan did not find is added in sorted order, as discovery would have.
   */
  async update(path: string, text: string | null): Promise<void> {
    if (text === null) this.overlays.delete(path);
    else this.overlays.set(path, text);
    const current = text ?? this.text(path);
    const index = this.facts.findIndex((f) => f.path === path);
    if (current === null) {
      if (index >= 0) this.facts.splice(index, 1);
    } else {
      const fresh = await extractFileFacts(path, current, this.analyser.extract);
      if (index >= 0) this.facts[index] = fresh;
      else {
        const at = this.facts.findIndex((f) => f.path > path);
        this.facts.splice(at === -1 ? this.facts.length : at, 0, fresh);
      }
    }
    this.findingsMemo = null;
    this.suppressionMemo = null;
  }

  /** Drops a file from the project (deleted on disk). */
  remove(path: string): void {
    this.overlays.delete(path);
    this.facts = this.facts.filter((f) => f.path !== path);
    this.findingsMemo = null;
    this.suppressionMemo = null;
  }

  /**
   * Which suppression comments cover a finding, for STC001's fix: the project analysed once
   * more with every suppression comment left out, so that the findings they hide are seen.
   */
  suppressions(): SuppressionContext {
    if (!this.suppressionMemo) {
      const { analyse: options, project } = this.analyser;
      const bare = this.facts.map((f) => ({ ...f, directives: [] }));
      const hidden = analyse(buildProject(bare, project), options);
      this.suppressionMemo = {
        findRule: options.findRule,
        ran: new Set(options.rules.map((r) => r.meta.code)),
        isUsed: (s, file) => hidden.some((f) => covers(s, file, f)),
      };
    }
    return this.suppressionMemo;
  }
}
