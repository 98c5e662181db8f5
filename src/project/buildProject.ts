/**
 * The index stage: joins every file's facts into one project — models and their uniqueness,
 * fields assigned anywhere (so the rest are immutable), settings, and summaries of the
 * helper functions each file defines, solved to a fixpoint over same-file calls.
 */
import type { CheckKind, FileFacts, FunctionFacts, ModelFacts, QueryShape, WriteOp } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";

export interface HelperSummary {
  /** The helper returns the answer of an authorization check. */
  returnsCheck: CheckKind | null;
  /** The helper checks and raises/denies: calling it as a statement guards what follows. */
  raisesCheck: CheckKind | null;
  /** The helper writes to the database (directly or through its own helpers). */
  writes: { op: WriteOp; query: QueryShape | null }[];
  /** The helper evaluates a locked query (it takes a row lock for its caller's transaction). */
  lock: QueryShape | null;
}

export interface ProjectSettings {
  atomicRequests: boolean;
  /** Every database engine found is SQLite (select_for_update is a no-op there). */
  sqliteOnly: boolean;
  /** Settings files read, relative paths. */
  files: string[];
}

export interface Project {
  files: FileFacts[];
  models: Map<string, ModelFacts>;
  /** `Model.field` and `*.field` (model unknown) keys for every field assigned anywhere. */
  mutatedFields: ReadonlySet<string>;
  settings: ProjectSettings;
  /** Summaries by file path, then by qualified function name. */
  summaries: Map<string, Map<string, HelperSummary>>;
  /** Top-level names of the scanned code (directories, modules, the root's own name). */
  localPackages: ReadonlySet<string>;
}

export interface BuildOptions {
  /** The scan root's directory name, for imports of the scanned package by its own name. */
  rootName?: string;
}

/** Django's own models whose uniqueness the scanned tree does not define. */
const BUILTIN_MODELS: ModelFacts[] = [
  { name: "User", bases: [], uniqueSets: [["pk"], ["id"], ["username"]] },
  { name: "Group", bases: [], uniqueSets: [["pk"], ["id"], ["name"]] },
  { name: "Permission", bases: [], uniqueSets: [["pk"], ["id"], ["content_type", "codename"]] },
];

const MAX_FIXPOINT_ROUNDS = 50;

export function buildProject(files: FileFacts[], options: BuildOptions = {}): Project {
  const models = new Map<string, ModelFacts>();
  for (const model of BUILTIN_MODELS) models.set(model.name, model);
  const mutatedFields = new Set<string>();
  const settingsFiles: string[] = [];
  let atomicRequests = false;
  let engines: string[] | null = [];
  for (const file of files) {
    for (const model of file.models) {
      const known = models.get(model.name);
      // Two models with one name: keep only the guarantees both give.
      models.set(model.name, known && !BUILTIN_MODELS.includes(known) ? { name: model.name, bases: model.bases, uniqueSets: known.uniqueSets.filter((s) => model.uniqueSets.some((t) => sameSet(s, t))) } : { ...model, uniqueSets: [...model.uniqueSets] });
    }
    for (const key of file.mutatedFields) mutatedFields.add(key);
    for (const fn of file.functions) for (const key of fn.mutatedFields) mutatedFields.add(key);
    if (file.settings) {
      settingsFiles.push(file.path);
      atomicRequests ||= file.settings.atomicRequests;
      if (file.settings.engines === null || engines === null) engines = null;
      else engines.push(...file.settings.engines);
    }
  }
  inheritUniqueness(models);
  const sqliteOnly = engines !== null && engines.length > 0 && engines.every((e) => /sqlite/.test(e));
  const summaries = new Map<string, Map<string, HelperSummary>>();
  for (const file of files) summaries.set(file.path, summariseFile(file));
  const localPackages = new Set<string>(options.rootName ? [options.rootName] : []);
  for (const file of files) for (const part of file.path.replace(/\.py$/, "").split("/")) localPackages.add(part);
  return { files, models, mutatedFields, settings: { atomicRequests, sqliteOnly, files: settingsFiles.sort() }, summaries, localPackages };
}

/** Unique fields declared on an (abstract) base model hold on its subclasses too. */
function inheritUniqueness(models: Map<string, ModelFacts>): void {
  for (const model of [...models.values()]) {
    const seen = new Set<string>([model.name]);
    const queue = [...model.bases];
    while (queue.length > 0) {
      const baseName = queue.shift()!.split(".").pop()!;
      if (seen.has(baseName)) continue;
      seen.add(baseName);
      const base = models.get(baseName);
      if (!base) continue;
      for (const set of base.uniqueSets) if (!model.uniqueSets.some((s) => sameSet(s, set))) model.uniqueSets.push(set);
      queue.push(...base.bases);
    }
  }
}

/** The model is imported from a package outside the scanned tree: its constraints are unknown. */
export function isExternalModel(project: Project, file: FileFacts, model: string): boolean {
  if (project.models.has(model)) return false;
  const target = file.imports[model];
  if (!target || target.startsWith(".")) return false;
  return !project.localPackages.has(target.split(".")[0]!);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Finds the function a callee text names, in the caller's file: `helper` or `self.helper`. */
export function resolveCallee(file: FileFacts, caller: FunctionFacts, callee: string): FunctionFacts | null {
  if (callee.startsWith("self.") || callee.startsWith("cls.")) {
    if (!caller.className) return null;
    const wanted = `${caller.className}.${callee.slice(callee.indexOf(".") + 1)}`;
    return file.functions.find((f) => f.name === wanted) ?? null;
  }
  if (callee.includes(".")) return null;
  const prefix = caller.name.includes(".") ? caller.name.slice(0, caller.name.lastIndexOf(".")) : "";
  // A nested helper of the caller first, then a module-level function.
  return (
    file.functions.find((f) => f.name === `${caller.name}.${callee}`) ??
    (prefix && !caller.className ? file.functions.find((f) => f.name === `${prefix}.${callee}`) : undefined) ??
    file.functions.find((f) => f.name === callee && f.className === null) ??
    null
  );
}

function summariseFile(file: FileFacts): Map<string, HelperSummary> {
  const out = new Map<string, HelperSummary>();
  for (const fn of file.functions) {
    const authz = fn.events.find((e) => e.type === "check" && AUTHZ_CHECK_KINDS.has(e.kind) && e.guard !== "decorator");
    const authzKind = authz && authz.type === "check" ? authz.kind : null;
    // Only a lock the helper leaves held for its caller's transaction: one taken inside the
    // helper's own atomic block is released when the helper returns.
    const ownAtomic = fn.regions.filter((r) => r.kind === "atomic");
    const lock = fn.events.find((e) => e.type === "fetch" && e.query.locked && !ownAtomic.some((r) => e.pos >= r.span[0] && e.pos < r.span[1]));
    out.set(fn.name, {
      returnsCheck: fn.returnsCheck,
      raisesCheck: fn.denies ? authzKind : null,
      writes: fn.events.flatMap((e) => (e.type === "write" ? [{ op: e.op, query: e.query }] : [])),
      lock: lock && lock.type === "fetch" ? lock.query : null,
    });
  }
  for (let round = 0; round < MAX_FIXPOINT_ROUNDS; round++) {
    let changed = false;
    for (const fn of file.functions) {
      const summary = out.get(fn.name)!;
      for (const callee of fn.returnCallees) {
        const target = resolveCallee(file, fn, callee);
        const answer = target ? out.get(target.name)?.returnsCheck : null;
        if (answer && !summary.returnsCheck) {
          summary.returnsCheck = answer;
          changed = true;
        }
      }
      for (const event of fn.events) {
        if (event.type !== "call") continue;
        const target = resolveCallee(file, fn, event.callee);
        const other = target ? out.get(target.name) : undefined;
        if (!other || target === fn) continue;
        if (fn.denies && !summary.raisesCheck && event.scopes.length > 0) {
          const kind = other.returnsCheck ?? other.raisesCheck;
          if (kind) {
            summary.raisesCheck = kind;
            changed = true;
          }
        }
        if (other.writes.length > 0 && summary.writes.length === 0) {
          summary.writes = [...other.writes];
          changed = true;
        }
        if (other.lock && !summary.lock) {
          summary.lock = other.lock;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return out;
}

/**
 * Can code in the project change `field` of `model`? An assignment on an object of unknown
 * model counts for every model; a check on an object of unknown model sees every assignment.
 */
export function isMutable(project: Project, model: string | null, field: string): boolean {
  if (project.mutatedFields.has(`*.${field}`)) return true;
  if (model !== null) return project.mutatedFields.has(`${model}.${field}`);
  for (const key of project.mutatedFields) if (key.endsWith(`.${field}`)) return true;
  return false;
}

/** Is a unique guarantee on `model` implied by equality on `fields`? */
export function uniqueCovers(project: Project, model: string | null, fields: string[]): boolean {
  if (!model) return false;
  const facts = project.models.get(model);
  if (!facts) return false;
  return facts.uniqueSets.some((set) => set.length > 0 && set.every((f) => fields.includes(f)));
}
