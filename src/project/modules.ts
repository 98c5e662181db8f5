/**
 * Module names and symbol resolution across files: which file a dotted name or an imported
 * name refers to, and which function or class inside it. Static only: imports are read, never run.
 */
import type { ClassFacts, FileFacts, FunctionFacts } from "../extract/facts.js";

export type Symbol =
  | { kind: "function"; file: FileFacts; fn: FunctionFacts }
  | { kind: "class"; file: FileFacts; cls: ClassFacts }
  | { kind: "module"; file: FileFacts }
  /** Outside the scanned tree: the fully qualified name as far as imports tell. */
  | { kind: "external"; qualified: string };

/**
 * What `name` is imported as in `file`, or undefined. Own properties only: the facts' imports are
 * a plain object, and a Python name such as `constructor` must not find Object's prototype.
 */
export function importTarget(file: FileFacts, name: string): string | undefined {
  return Object.hasOwn(file.imports, name) ? file.imports[name] : undefined;
}

export class ModuleIndex {
  private readonly byModule = new Map<string, FileFacts>();
  private readonly byPath = new Map<string, FileFacts>();
  private readonly moduleOf = new Map<FileFacts, string>();
  private readonly suffixCache = new Map<string, FileFacts | null>();
  /** Module names by their last segment: a suffix match always shares it. */
  private readonly byLastSegment = new Map<string, string[]>();
  /** Per file, its functions by qualified name (in definition order), built on first use. */
  private readonly functionsByName = new Map<FileFacts, Map<string, FunctionFacts[]>>();
  private readonly classesByName = new Map<FileFacts, Map<string, ClassFacts>>();
  /** Per file, the functions of each class by class name, in definition order, built on first use. */
  private readonly methodsByClass = new Map<FileFacts, Map<string, FunctionFacts[]>>();
  private readonly qualifiedCache = new Map<string, Symbol>();

  constructor(files: readonly FileFacts[]) {
    for (const file of files) {
      this.byPath.set(file.path, file);
      const name = moduleName(file.path);
      this.moduleOf.set(file, name);
      if (this.byModule.has(name)) continue;
      this.byModule.set(name, file);
      const last = name.split(".").pop()!;
      const list = this.byLastSegment.get(last) ?? [];
      list.push(name);
      this.byLastSegment.set(last, list);
    }
  }

  /** The scanned file at this path (relative to the scan root, as in `FileFacts.path`). */
  fileAt(path: string): FileFacts | null {
    return this.byPath.get(path) ?? null;
  }

  nameOf(file: FileFacts): string {
    return this.moduleOf.get(file) ?? moduleName(file.path);
  }

  /**
   * The scanned file for a dotted module name. The scan root may sit inside or above the
   * package root, so `billing.invoices.views` also matches a file scanned as `invoices/views.py`.
   */
  find(module: string): FileFacts | null {
    const exact = this.byModule.get(module);
    if (exact) return exact;
    if (this.suffixCache.has(module)) return this.suffixCache.get(module)!;
    let best: FileFacts | null = null;
    let bestLength = 0;
    for (const name of this.byLastSegment.get(module.split(".").pop()!) ?? []) {
      if (name === "" || name === "__init__") continue;
      const matches = module.endsWith(`.${name}`) || name.endsWith(`.${module}`);
      if (matches && name.length > bestLength) {
        best = this.byModule.get(name)!;
        bestLength = name.length;
      }
    }
    this.suffixCache.set(module, best);
    return best;
  }

  /** Absolute module for an import target written in `file` (`.models.X` → `app.models.X`). */
  absolute(file: FileFacts, target: string): string {
    if (!target.startsWith(".")) return target;
    const dots = /^\.+/.exec(target)![0].length;
    const own = this.nameOf(file).split(".");
    const isPackage = file.path.endsWith("__init__.py");
    const base = own.slice(0, Math.max(0, own.length - (isPackage ? 0 : 1) - (dots - 1)));
    const rest = target.slice(dots);
    return [...base, ...(rest ? [rest] : [])].filter(Boolean).join(".");
  }

  /** Resolves a dotted name as written in `file` (`views.pay`, `InvoiceViewSet`, `services.charge`). */
  resolve(file: FileFacts, dotted: string): Symbol {
    const [head, ...rest] = dotted.split(".");
    if (!head) return { kind: "external", qualified: dotted };
    const local = this.localSymbol(file, head);
    if (local && rest.length === 0) return local;
    const imported = importTarget(file, head);
    const qualified = imported ? [this.absolute(file, imported), ...rest].join(".") : local ? null : dotted;
    if (local && rest.length > 0) {
      // A method of a class defined here: `Class.method`.
      if (local.kind === "class") {
        const fn = this.functionsNamed(file, `${local.cls.name}.${rest.join(".")}`)[0];
        if (fn) return { kind: "function", file, fn };
      }
      return { kind: "external", qualified: dotted };
    }
    return qualified ? this.resolveQualified(qualified) : { kind: "external", qualified: dotted };
  }

  /** Functions of `file` with this qualified name (`view`, `Class.method`), in definition order. */
  functionsNamed(file: FileFacts, name: string): readonly FunctionFacts[] {
    let byName = this.functionsByName.get(file);
    if (!byName) {
      byName = new Map();
      for (const fn of file.functions) {
        const list = byName.get(fn.name);
        if (list) list.push(fn);
        else byName.set(fn.name, [fn]);
      }
      this.functionsByName.set(file, byName);
    }
    return byName.get(name) ?? [];
  }

  /** The functions of `file` whose class is named `className`, in definition order. */
  methodsOf(file: FileFacts, className: string): readonly FunctionFacts[] {
    let byClass = this.methodsByClass.get(file);
    if (!byClass) {
      byClass = new Map();
      for (const fn of file.functions) {
        if (fn.className === null) continue;
        const list = byClass.get(fn.className);
        if (list) list.push(fn);
        else byClass.set(fn.className, [fn]);
      }
      this.methodsByClass.set(file, byClass);
    }
    return byClass.get(className) ?? [];
  }

  /** The class of `file` with this name; the first when several share it, as a linear search finds. */
  classNamed(file: FileFacts, name: string): ClassFacts | null {
    let byName = this.classesByName.get(file);
    if (!byName) {
      byName = new Map();
      for (const cls of file.classes) if (!byName.has(cls.name)) byName.set(cls.name, cls);
      this.classesByName.set(file, byName);
    }
    return byName.get(name) ?? null;
  }

  /** Resolves a fully qualified dotted name: `pkg.mod.func`, `pkg.mod.Class`, `pkg.mod`. */
  resolveQualified(qualified: string): Symbol {
    // The index never changes, and stages ask about the same names again and again.
    let symbol = this.qualifiedCache.get(qualified);
    if (!symbol) {
      symbol = this.resolveQualifiedUncached(qualified, 0);
      this.qualifiedCache.set(qualified, symbol);
    }
    return symbol;
  }

  private resolveQualifiedUncached(qualified: string, depth: number): Symbol {
    const parts = qualified.split(".");
    for (let cut = parts.length; cut >= 1; cut--) {
      const file = this.find(parts.slice(0, cut).join("."));
      if (!file) continue;
      const rest = parts.slice(cut);
      if (rest.length === 0) return { kind: "module", file };
      const local = this.localSymbol(file, rest.join("."));
      if (local) return local;
      // Re-exported through the module's own imports (`from .views import *` is not followed).
      const imported = importTarget(file, rest[0]!);
      if (imported && depth < 8) return this.resolveQualifiedUncached([this.absolute(file, imported), ...rest.slice(1)].join("."), depth + 1);
      return { kind: "external", qualified };
    }
    return { kind: "external", qualified };
  }

  private localSymbol(file: FileFacts, name: string): Symbol | null {
    const fn = this.functionsNamed(file, name)[0];
    if (fn) return { kind: "function", file, fn };
    const cls = this.classNamed(file, name);
    if (cls) return { kind: "class", file, cls };
    return null;
  }
}

/** `app/views.py` → `app.views`; `app/__init__.py` → `app`. */
export function moduleName(path: string): string {
  const parts = path.replace(/\.py$/, "").split("/");
  if (parts[parts.length - 1] === "__init__") parts.pop();
  return parts.join(".");
}
