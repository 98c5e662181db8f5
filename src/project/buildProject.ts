/**
 * The index stage: joins every file's facts into one project — models and their uniqueness,
 * fields assigned anywhere (so the rest are immutable), settings, and summaries of the
 * helper functions each file defines, solved to a fixpoint over same-file calls.
 */
import type { CheckKind, FileFacts, FunctionEvent, FunctionFacts, ModelFacts, QueryShape, WriteOp } from "../extract/facts.js";
import { AUTHZ_CHECK_KINDS } from "../extract/facts.js";
import { AUTHZ_MODEL } from "../extract/vocabulary.js";
import { classOf, findMethod } from "./classes.js";
import { ModuleIndex } from "./modules.js";
import { type Endpoint, buildRoutes } from "./routes.js";
import { type ProjectSettings, readSettings } from "./settings.js";

export type { ProjectSettings };

export interface HelperSummary {
  /** The helper returns the answer of an authorization check. */
  returnsCheck: CheckKind | null;
  /** The helper checks and raises/denies: calling it as a statement guards what follows. */
  raisesCheck: CheckKind | null;
  /** The helper writes to the database (directly or through its own helpers). */
  writes: { op: WriteOp; query: QueryShape | null }[];
  /** The helper evaluates a locked query (it takes a row lock for its caller's transaction). */
  lock: QueryShape | null;
  /** The helper does slow work (network or file I/O, sleeps, loops of queries), directly or through calls. */
  slow: boolean;
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
  index: ModuleIndex;
  endpoints: Endpoint[];
  /** Models named in configuration (`sensitive-models`) whose rows authorization depends on. */
  authzModels: ReadonlySet<string>;
  /** Methods of custom managers/querysets in the tree that return a `select_for_update()` queryset. */
  lockingQuerysetMethods: ReadonlySet<string>;
}

export interface BuildOptions {
  /** The scan root's directory name, for imports of the scanned package by its own name. */
  rootName?: string;
  /** Extra class, decorator or middleware names that authenticate with HTTP Basic. */
  basicAuthNames?: readonly string[];
  /** Extra models whose rows authorization decisions depend on (config `sensitive-models`). */
  authzModels?: readonly string[];
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
  for (const file of files) {
    for (const model of file.models) {
      const known = models.get(model.name);
      // Two models with one name: keep only the guarantees both give.
      models.set(model.name, known && !BUILTIN_MODELS.includes(known) ? { name: model.name, bases: model.bases, uniqueSets: known.uniqueSets.filter((s) => model.uniqueSets.some((t) => sameSet(s, t))) } : { ...model, uniqueSets: [...model.uniqueSets] });
    }
    for (const key of file.mutatedFields) mutatedFields.add(key);
    for (const fn of file.functions) for (const key of fn.mutatedFields) mutatedFields.add(key);
  }
  inheritUniqueness(models);
  const index = new ModuleIndex(files);
  const settings = readSettings(files, index);
  const localPackages = new Set<string>(options.rootName ? [options.rootName] : []);
  for (const file of files) for (const part of file.path.replace(/\.py$/, "").split("/")) localPackages.add(part);
  const project: Project = {
    files, models, mutatedFields, settings, summaries: new Map(), localPackages, index,
    endpoints: buildRoutes(files, index, settings, { basicAuthNames: options.basicAuthNames ?? [] }),
    authzModels: new Set(options.authzModels ?? []),
    lockingQuerysetMethods: new Set(files.flatMap((f) => f.functions.filter((fn) => fn.returnsLockedQuery && fn.className !== null &&
      (classOf(f, fn)?.bases ?? []).some((b) => /(Manager|QuerySet)$/.test(b))).map((fn) => fn.name.split(".").pop()!))),
  };
  summarise(project);
  return project;
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

/**
 * Finds the function a callee text names: `helper` (this module, a nested helper, or an
 * imported function), `module.helper` through an import, `self.helper` through the class and
 * its scanned bases.
 */
export function resolveCallee(project: Project, file: FileFacts, caller: FunctionFacts, callee: string): Callee | null {
  // Every stage asks the same questions: answer each (caller, callee) once per project. A
  // caller's facts object belongs to one file, so it keys the answers without building strings.
  let byCaller = calleeMemo.get(project);
  if (!byCaller) calleeMemo.set(project, (byCaller = new Map()));
  let answers = byCaller.get(caller);
  if (!answers) byCaller.set(caller, (answers = new Map()));
  let answer = answers.get(callee);
  if (answer === undefined) {
    answer = resolveCalleeUncached(project, file, caller, callee);
    answers.set(callee, answer);
  }
  return answer;
}

type Callee = { file: FileFacts; fn: FunctionFacts };

const calleeMemo = new WeakMap<Project, Map<FunctionFacts, Map<string, Callee | null>>>();

function resolveCalleeUncached(project: Project, file: FileFacts, caller: FunctionFacts, callee: string): Callee | null {
  if (callee.startsWith("self.") || callee.startsWith("cls.")) {
    const cls = classOf(file, caller);
    if (!cls) return null;
    return findMethod(project.index, file, cls, callee.slice(callee.indexOf(".") + 1));
  }
  if (!callee.includes(".")) {
    const prefix = caller.name.includes(".") ? caller.name.slice(0, caller.name.lastIndexOf(".")) : "";
    const named = (name: string) => project.index.functionsNamed(file, name);
    const local =
      named(`${caller.name}.${callee}`)[0] ??
      (prefix && !caller.className ? named(`${prefix}.${callee}`)[0] : undefined) ??
      named(callee).find((f) => f.className === null);
    if (local) return { file, fn: local };
  }
  const symbol = project.index.resolve(file, callee);
  return symbol.kind === "function" ? { file: symbol.file, fn: symbol.fn } : null;
}

export function summaryOf(project: Project, file: FileFacts, fn: FunctionFacts): HelperSummary | undefined {
  return project.summaries.get(file.path)?.get(fn.name);
}

/** Interprocedural summaries of every function, solved to a fixpoint over the call graph. */
function summarise(project: Project): void {
  interface Node {
    fn: FunctionFacts;
    summary: HelperSummary;
    /** Resolved calls; recursion and unresolved calls simply contribute nothing. */
    calls: { event: FunctionEvent; target: HelperSummary; self: boolean }[];
    /** Summaries of the functions whose results this one returns. */
    returned: HelperSummary[];
  }
  const all: Node[] = [];
  for (const file of project.files) {
    const map = new Map<string, HelperSummary>();
    for (const fn of file.functions) {
      const summary = ownSummary(fn);
      map.set(fn.name, summary);
      all.push({ fn, summary, calls: [], returned: [] });
    }
    project.summaries.set(file.path, map);
  }
  // Resolve each call once.
  let at = 0;
  for (const file of project.files) {
    for (const fn of file.functions) {
      const node = all[at++]!;
      for (const event of fn.events) {
        if (event.type !== "call") continue;
        const target = resolveCallee(project, file, fn, event.callee);
        if (target) node.calls.push({ event, target: summaryOf(project, target.file, target.fn)!, self: target.fn === fn });
      }
      for (const c of fn.returnCallees) {
        const target = resolveCallee(project, file, fn, c);
        if (target) node.returned.push(summaryOf(project, target.file, target.fn)!);
      }
    }
  }
  for (let round = 0; round < MAX_FIXPOINT_ROUNDS; round++) {
    let changed = false;
    for (const { fn, summary, calls, returned } of all) {
      for (const other of returned) {
        if (other.returnsCheck && !summary.returnsCheck) {
          summary.returnsCheck = other.returnsCheck;
          changed = true;
        }
      }
      for (const { event, target, self } of calls) {
        if (self || event.type !== "call") continue;
        if (fn.denies && !summary.raisesCheck && event.scopes.length > 0) {
          const kind = target.returnsCheck ?? target.raisesCheck;
          if (kind) {
            summary.raisesCheck = kind;
            changed = true;
          }
        }
        if (target.writes.length > 0 && summary.writes.length === 0) {
          summary.writes = [...target.writes];
          changed = true;
        }
        if (target.lock && !summary.lock) {
          summary.lock = target.lock;
          changed = true;
        }
        if (target.slow && !summary.slow) {
          summary.slow = true;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
}

function ownSummary(fn: FunctionFacts): HelperSummary {
  const authz = fn.events.find((e) => e.type === "check" && AUTHZ_CHECK_KINDS.has(e.kind) && e.guard !== "decorator");
  const authzKind = authz && authz.type === "check" ? authz.kind : null;
  // Only a lock the helper leaves held for its caller's transaction: one taken inside the
  // helper's own atomic block is released when the helper returns.
  const ownAtomic = fn.regions.filter((r) => r.kind === "atomic");
  const lock = fn.events.find((e) => e.type === "fetch" && e.query.locked && !ownAtomic.some((r) => e.pos >= r.span[0] && e.pos < r.span[1]));
  return {
    returnsCheck: fn.returnsCheck,
    raisesCheck: fn.denies ? authzKind : null,
    writes: fn.events.flatMap((e) => (e.type === "write" ? [{ op: e.op, query: e.query }] : [])),
    lock: lock && lock.type === "fetch" ? lock.query : null,
    slow: fn.events.some((e) => e.type === "slow") || fn.regions.some((r) => r.kind === "loop" && fn.events.some((e) => (e.type === "fetch" || e.type === "write") && e.pos >= r.span[0] && e.pos < r.span[1])),
  };
}

/**
 * Can code in the project change `field` of `model`? An assignment on an object of unknown
 * model counts for every model; a check on an object of unknown model sees every assignment.
 */
export function isMutable(project: Project, model: string | null, field: string): boolean {
  if (project.mutatedFields.has(`*.${field}`)) return true;
  if (model !== null) return project.mutatedFields.has(`${model}.${field}`);
  return assignedOnSomeModel(project.mutatedFields).has(field);
}

const fieldsOfAnyModel = new WeakMap<ReadonlySet<string>, Set<string>>();

/**
 * Every `x` such that some key ends in `.x` (`Invoice.status` gives `status`), built once: asked
 * for each check on an object of unknown model, a walk over every key was O(checks × fields).
 */
function assignedOnSomeModel(mutatedFields: ReadonlySet<string>): Set<string> {
  let known = fieldsOfAnyModel.get(mutatedFields);
  if (!known) {
    known = new Set();
    for (const key of mutatedFields) {
      for (let dot = key.indexOf("."); dot >= 0; dot = key.indexOf(".", dot + 1)) known.add(key.slice(dot + 1));
    }
    fieldsOfAnyModel.set(mutatedFields, known);
  }
  return known;
}

/** Do authorization decisions depend on this model's rows (users, memberships, roles, configured ones)? */
export function isAuthzModel(project: Project, model: string | null): boolean {
  return model !== null && (AUTHZ_MODEL.test(model) || project.authzModels.has(model));
}

/** Is a unique guarantee on `model` implied by equality on `fields`? */
export function uniqueCovers(project: Project, model: string | null, fields: string[]): boolean {
  if (!model) return false;
  const facts = project.models.get(model);
  if (!facts) return false;
  return facts.uniqueSets.some((set) => set.length > 0 && set.every((f) => fields.includes(f)));
}
