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
  // A custom user model inherits its username's uniqueness from Django's abstract base.
  { name: "AbstractUser", bases: [], uniqueSets: [["username"]] },
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
  /** The model each custom manager or queryset class serves (`self` in its methods is that model's rows). */
  managerModels: ReadonlyMap<string, string>;
  /** Custom manager or queryset classes in the tree, with the get-or-create methods they define themselves. */
  managerCreateOverrides: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Methods a manager may override to change what a lookup means (`get_or_create(data=…)` looking up a hash). */
const GET_OR_CREATE_METHODS = new Set(["get_or_create", "update_or_create", "aget_or_create", "aupdate_or_create"]);

export function indexModels(files: readonly FileFacts[], rootName: string | undefined, authzModels: readonly string[]): ModelIndex {
  const models = new Map<string, ModelFacts>();
  for (const model of BUILTIN_MODELS) models.set(model.name, model);
  const mutatedFields = new Set<string>();
  for (const file of files) {
    for (const model of file.models) {
      const known = models.get(model.name);
      // Two models with one name: keep only the guarantees both give.
      models.set(model.name, known && !BUILTIN_MODELS.includes(known)
        ? {
          name: model.name, bases: model.bases, uniqueSets: known.uniqueSets.filter((s) => model.uniqueSets.some((t) => sameSet(s, t))),
          nullableFields: [...new Set([...(known.nullableFields ?? []), ...(model.nullableFields ?? [])])],
          nullSafe: [...(known.nullSafe ?? []), ...(model.nullSafe ?? [])],
        }
        : { ...model, uniqueSets: [...model.uniqueSets] });
    }
    for (const key of file.mutatedFields) mutatedFields.add(key);
    for (const fn of file.functions) for (const { key } of fn.fieldWrites) mutatedFields.add(key);
  }
  addModelSubclasses(files, models);
  inheritUniqueness(models);
  const localPackages = topLevelNames(files, rootName);
  const mutatedOnSomeModel = new Set<string>();
  for (const key of mutatedFields) {
    for (let dot = key.indexOf("."); dot >= 0; dot = key.indexOf(".", dot + 1)) mutatedOnSomeModel.add(key.slice(dot + 1));
  }
  const defined = new Set(files.flatMap((f) => f.models.map((m) => m.name)));
  for (const model of models.values()) if (!BUILTIN_MODELS.includes(model)) defined.add(model.name);
  const managerModels = new Map<string, string>();
  for (const model of models.values()) for (const manager of model.managers ?? []) if (!managerModels.has(manager)) managerModels.set(manager, model.name);
  const managerCreateOverrides = new Map<string, Set<string>>();
  for (const file of files) {
    for (const fn of file.functions) {
      const method = fn.name.split(".").pop()!;
      if (fn.className === null || !managerModels.has(fn.className) || !GET_OR_CREATE_METHODS.has(method)) continue;
      managerCreateOverrides.set(fn.className, (managerCreateOverrides.get(fn.className) ?? new Set()).add(method));
    }
  }
  return {
    managerModels,
    managerCreateOverrides,
    byName: models,
    mutatedOnSomeModel,
    definedModels: defined,
    mutatedFields,
    localPackages,
    authzModels: new Set(authzModels),
  };
}

/**
 * The names an import of the scanned code starts with: top-level packages (a directory with an
 * `__init__.py` whose parent has none, wherever it sits, as under `src/`), top-level modules
 * (a file outside any package), and the scan root's own name.
 */
function topLevelNames(files: readonly FileFacts[], rootName: string | undefined): Set<string> {
  const packages = new Set(files.filter((f) => f.path === "__init__.py" || f.path.endsWith("/__init__.py")).map((f) => f.path.slice(0, -"/__init__.py".length)));
  const names = new Set<string>(rootName ? [rootName] : []);
  for (const file of files) {
    const parts = file.path.replace(/\.py$/, "").split("/");
    // The outermost package directory on the file's path, or the file itself when it is in none.
    const outer = parts.findIndex((_, i) => i < parts.length - 1 && packages.has(parts.slice(0, i + 1).join("/")));
    names.add(outer >= 0 ? parts[outer]! : parts[parts.length - 1]!);
  }
  return names;
}

/**
 * Classes that declare nothing model-like but inherit from a model (`class UserBlocks(ActivityMixin,
 * UserRelationship)`) are models too, with what they inherit.
 */
function addModelSubclasses(files: readonly FileFacts[], models: Map<string, ModelFacts>): void {
  const classes = files.flatMap((f) => f.classes).filter((c) => !c.name.includes("."));
  for (let changed = true; changed; ) {
    changed = false;
    for (const cls of classes) {
      if (models.has(cls.name) || !cls.bases.some((b) => models.has(b.split(".").pop()!))) continue;
      models.set(cls.name, cls.asModel ? { ...cls.asModel } : { name: cls.name, bases: cls.bases, uniqueSets: [["pk"], ["id"]] });
      changed = true;
    }
  }
}

/** A model's unique sets by where they come from: its fields (and a concrete parent's table), or a Meta option. */
interface SetsBySource {
  fields: string[][];
  unique_together: string[][];
  constraints: string[][];
}

const META_OPTIONS = ["unique_together", "constraints"] as const;

/**
 * Unique sets inherited from base models, as Django inherits them. A `unique=True` field holds on
 * every subclass, and a concrete parent's constraints hold on its own table, which a multi-table
 * child's rows are in too. An abstract base's Meta options reach a subclass only through its Meta:
 * when the subclass declares none, or one that subclasses the base's (`class Meta(Base.Meta)`) and
 * does not set the option again, or sets it to a value that reuses the base's
 * (`constraints = Base.Meta.constraints + [...]`). A `class Meta:` of its own drops them.
 */
function inheritUniqueness(models: Map<string, ModelFacts>): void {
  const memo = new Map<string, SetsBySource>();
  const find = (name: string) => models.get(name.split(".").pop()!);
  const resolve = (model: ModelFacts, visiting: Set<string>): SetsBySource => {
    const known = memo.get(model.name);
    if (known) return known;
    const metaSets = model.meta ? [...(model.meta.sets.unique_together ?? []), ...(model.meta.sets.constraints ?? [])] : [];
    const out: SetsBySource = { fields: model.uniqueSets.filter((set) => !metaSets.some((m) => sameSet(m, set))), unique_together: [], constraints: [] };
    if (visiting.has(model.name)) return out;
    visiting.add(model.name);
    const bases = model.bases.map(find).filter((b): b is ModelFacts => b !== undefined && b !== model);
    const of = (names: readonly string[]) => names.map(find).filter((b): b is ModelFacts => b !== undefined && b !== model).map((b) => resolve(b, visiting));
    for (const base of bases) {
      const sets = resolve(base, visiting);
      out.fields.push(...sets.fields);
      if (!base.abstract) out.fields.push(...sets.unique_together, ...sets.constraints);
    }
    for (const option of META_OPTIONS) {
      const own = model.meta?.sets[option];
      if (!model.meta) {
        for (const base of bases) if (base.abstract) out[option].push(...resolve(base, visiting)[option]);
      } else if (own) {
        out[option].push(...own);
        for (const sets of of(model.meta.reuses[option] ?? [])) out[option].push(...sets[option]);
      } else {
        for (const sets of of(model.meta.bases)) out[option].push(...sets[option]);
      }
    }
    visiting.delete(model.name);
    memo.set(model.name, out);
    return out;
  };
  const resolved = [...models.values()].map((model) => [model, resolve(model, new Set())] as const);
  for (const [model, sets] of resolved) {
    if (BUILTIN_MODELS.includes(model)) continue;
    const all: string[][] = [];
    for (const set of [...sets.fields, ...sets.unique_together, ...sets.constraints]) if (!all.some((s) => sameSet(s, set))) all.push(set);
    model.uniqueSets = all;
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

/**
 * Is a unique guarantee on `model` implied by equality on `fields`? A set holding a nullable
 * field guarantees nothing for rows where it is NULL (the database treats NULLs as distinct):
 * it does not count when the code may pass None for that field (`maybeNull`).
 */
export function uniqueCovers(index: ModelIndex, model: string | null, fields: string[], maybeNull: readonly string[] = []): boolean {
  if (!model) return false;
  const facts = index.byName.get(model);
  if (!facts) return false;
  const lineage = withBases(index, facts);
  // A singleton whose save() fixes the key: any second insert collides on the primary key.
  if (lineage.some((m) => m.fixedPk)) return true;
  const nullable = new Set(lineage.flatMap((m) => m.nullableFields ?? []));
  const nullSafe = lineage.flatMap((m) => m.nullSafe ?? []);
  // NULL in `f` escapes the set unless a constraint also holds for NULLs (`nulls_distinct=False`,
  // or a partial one on the rest of the set with `condition=Q(f=None)`).
  const escapes = (set: string[], f: string): boolean => nullable.has(f) && maybeNull.includes(f) &&
    !nullSafe.some((s) => (s.field === null && set.every((x) => s.fields.includes(x))) || (s.field === f && s.fields.every((x) => fields.includes(x))));
  // A partial constraint with `condition=Q(f=None)` covers rows the code creates with `f` NULL:
  // given None, or not given at all.
  const partial = nullSafe.some((s) => s.field !== null && s.fields.every((x) => fields.includes(x)) && (!fields.includes(s.field) || maybeNull.includes(s.field)));
  return partial || facts.uniqueSets.some((set) => set.length > 0 && set.every((f) => fields.includes(f) && !escapes(set, f)));
}

/**
 * A manager the model (or a base) installs defines `method` itself: the call runs that code, not
 * Django's, and its lookup may not be the one written at the call (the override is analysed on its own).
 */
export function managerOverrides(index: ModelIndex, model: string, method: string): boolean {
  const facts = index.byName.get(model);
  return facts !== undefined && withBases(index, facts).some((m) => (m.managers ?? []).some((manager) => index.managerCreateOverrides.get(manager)?.has(method) === true));
}

/** The fields a model (or a base) declares `null=True`. */
export function nullableFields(index: ModelIndex, model: string): Set<string> {
  const facts = index.byName.get(model);
  return new Set(facts ? withBases(index, facts).flatMap((m) => m.nullableFields ?? []) : []);
}

/** A model and the bases it inherits from. */
function withBases(index: ModelIndex, model: ModelFacts): ModelFacts[] {
  const out = [model];
  const seen = new Set<string>([model.name]);
  const queue = [...model.bases];
  while (queue.length > 0) {
    const base = index.byName.get(queue.shift()!.split(".").pop()!);
    if (!base || seen.has(base.name)) continue;
    seen.add(base.name);
    out.push(base);
    queue.push(...base.bases);
  }
  return out;
}

/** A lock on these rows covers an authorization decision: a user, membership, group, role or permission row, or one filtered by the requesting user. */
export function locksAuthzRows(index: ModelIndex, query: QueryShape): boolean {
  return query.filterRefsUser || isAuthzModel(index, query.model) || AUTHZ_MODEL.test(query.source);
}
