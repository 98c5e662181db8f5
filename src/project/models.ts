/**
 * What the project says about its models: the field sets a unique constraint guarantees
 * (inherited from abstract bases), which fields any code assigns (the others are immutable),
 * which models the tree defines and which come from packages outside it.
 */
import type { FileFacts, ModelFacts, QueryShape } from "../extract/facts.js";
import { AUTHZ_MODEL } from "../extract/vocabulary.js";
import { importTarget } from "./modules.js";

/** Django's own models whose uniqueness the scanned tree does not define. */
const BUILTIN_MODELS: ModelFacts[] = [
  { name: "User", bases: [], uniqueSets: [["pk"], ["id"], ["username"]] },
  { name: "Group", bases: [], uniqueSets: [["pk"], ["id"], ["name"]] },
  { name: "Permission", bases: [], uniqueSets: [["pk"], ["id"], ["content_type", "codename"]] },
];

export interface ModelIndex {
  /** Models by class name, Django's built-in ones included. */
  byName: Map<string, ModelFacts>;
  /** Names of the models the scanned tree defines (not Django's built-in ones). */
  definedModels: ReadonlySet<string>;
  /** `Model.field` and `*.field` (model unknown) keys for every field assigned anywhere. */
  mutatedFields: ReadonlySet<string>;
  /** Every `x` such that some key of `mutatedFields` ends in `.x`: fields assigned on some model. */
  mutatedOnSomeModel: ReadonlySet<string>;
  /** Top-level names of the scanned code (directories, modules, the root's own name). */
  localPackages: ReadonlySet<string>;
  /** Models named in configuration (`sensitive-models`) whose rows authorization depends on. */
  authzModels: ReadonlySet<string>;
}

export function indexModels(files: readonly FileFacts[], rootName: string | undefined, authzModels: readonly string[]): ModelIndex {
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
    for (const fn of file.functions) for (const { key } of fn.fieldWrites) mutatedFields.add(key);
  }
  inheritUniqueness(models);
  const localPackages = new Set<string>(rootName ? [rootName] : []);
  for (const file of files) for (const part of file.path.replace(/\.py$/, "").split("/")) localPackages.add(part);
  const mutatedOnSomeModel = new Set<string>();
  for (const key of mutatedFields) {
    for (let dot = key.indexOf("."); dot >= 0; dot = key.indexOf(".", dot + 1)) mutatedOnSomeModel.add(key.slice(dot + 1));
  }
  return {
    byName: models,
    mutatedOnSomeModel,
    definedModels: new Set(files.flatMap((f) => f.models.map((m) => m.name))),
    mutatedFields,
    localPackages,
    authzModels: new Set(authzModels),
  };
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

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The model is imported from a package outside the scanned tree: its constraints are unknown. */
export function isExternalModel(index: ModelIndex, file: FileFacts, model: string): boolean {
  if (index.byName.has(model)) return false;
  const target = importTarget(file, model);
  if (!target || target.startsWith(".")) return false;
  return !index.localPackages.has(target.split(".")[0]!);
}

/**
 * Can code in the project change `field` of `model`? An assignment on an object of unknown
 * model counts for every model; a check on an object of unknown model sees every assignment.
 */
export function isMutable(index: ModelIndex, model: string | null, field: string): boolean {
  if (index.mutatedFields.has(`*.${field}`)) return true;
  if (model !== null) return index.mutatedFields.has(`${model}.${field}`);
  return index.mutatedOnSomeModel.has(field);
}

/** Do authorization decisions depend on this model's rows (users, memberships, roles, configured ones)? */
export function isAuthzModel(index: ModelIndex, model: string | null): boolean {
  return model !== null && (AUTHZ_MODEL.test(model) || index.authzModels.has(model));
}

/** Is a unique guarantee on `model` implied by equality on `fields`? */
export function uniqueCovers(index: ModelIndex, model: string | null, fields: string[]): boolean {
  if (!model) return false;
  const facts = index.byName.get(model);
  if (!facts) return false;
  return facts.uniqueSets.some((set) => set.length > 0 && set.every((f) => fields.includes(f)));
}

/** A lock on these rows covers an authorization decision: a user, membership, group, role or permission row, or one filtered by the requesting user. */
export function locksAuthzRows(index: ModelIndex, query: QueryShape): boolean {
  return query.filterRefsUser || isAuthzModel(index, query.model) || AUTHZ_MODEL.test(query.source);
}
