/** Class hierarchies across files: bases resolved through imports, attributes and methods by MRO. */
import type { ClassFacts, FileFacts, FunctionFacts } from "../extract/facts.js";
import type { ModuleIndex } from "./modules.js";

export type Ancestor = { file: FileFacts; cls: ClassFacts } | { external: string };

const MAX_ANCESTORS = 64;

/**
 * The class and its ancestors, nearest first (a depth-first approximation of Python's MRO).
 * Bases outside the scanned tree appear as their qualified names.
 */
export function ancestors(index: ModuleIndex, file: FileFacts, cls: ClassFacts): Ancestor[] {
  const out: Ancestor[] = [];
  const seen = new Set<string>();
  const stack: Ancestor[] = [{ file, cls }];
  while (stack.length > 0 && out.length < MAX_ANCESTORS) {
    const current = stack.pop()!;
    const key = "external" in current ? `ext:${current.external}` : `${current.file.path}:${current.cls.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(current);
    if ("external" in current) continue;
    const bases = current.cls.bases.map((base): Ancestor => {
      const symbol = index.resolve(current.file, base);
      if (symbol.kind === "class") return { file: symbol.file, cls: symbol.cls };
      return { external: symbol.kind === "external" ? symbol.qualified : base };
    });
    for (let i = bases.length - 1; i >= 0; i--) stack.push(bases[i]!);
  }
  return out;
}

/** Last segment of each ancestor's name (`ModelViewSet`, `BasicAuthentication`). */
export function ancestorNames(index: ModuleIndex, file: FileFacts, cls: ClassFacts): string[] {
  return ancestors(index, file, cls).map((a) => ("external" in a ? a.external : a.cls.name).split(".").pop()!);
}

/** A class-level attribute, looked up through the bases; with the file that wrote it. */
export function classAttr(index: ModuleIndex, file: FileFacts, cls: ClassFacts, name: string): { file: FileFacts; values: string[] } | null {
  for (const a of ancestors(index, file, cls)) {
    if ("external" in a) continue;
    const values = a.cls.attrs[name];
    if (values) return { file: a.file, values };
  }
  return null;
}

/** The nearest definition of a method in the class or its scanned bases. */
export function findMethod(index: ModuleIndex, file: FileFacts, cls: ClassFacts, method: string): { file: FileFacts; fn: FunctionFacts } | null {
  for (const a of ancestors(index, file, cls)) {
    if ("external" in a) continue;
    const fn = index.functionsNamed(a.file, `${a.cls.name}.${method}`)[0];
    if (fn) return { file: a.file, fn };
  }
  return null;
}

const DRF_VIEW = /^(APIView|GenericAPIView|ViewSet|GenericViewSet|ModelViewSet|ReadOnlyModelViewSet|ViewSetMixin|\w+APIView)$/;

export function isDrfView(index: ModuleIndex, file: FileFacts, cls: ClassFacts): boolean {
  return ancestors(index, file, cls).some((a) => ("external" in a ? a.external.startsWith("rest_framework") || DRF_VIEW.test(a.external.split(".").pop()!) : DRF_VIEW.test(a.cls.name.split(".").pop()!)));
}

/** Per file, its classes by name (the first of a name) and its methods by class name, in definition order. */
const members = new WeakMap<FileFacts, { classes: Map<string, ClassFacts>; methods: Map<string, FunctionFacts[]> }>();

function membersOf(file: FileFacts): { classes: Map<string, ClassFacts>; methods: Map<string, FunctionFacts[]> } {
  let known = members.get(file);
  if (!known) {
    // Asked for every function: built once per file, so that a file of N classes costs O(N), not O(N²).
    known = { classes: new Map(), methods: new Map() };
    for (const cls of file.classes) if (!known.classes.has(cls.name)) known.classes.set(cls.name, cls);
    for (const fn of file.functions) {
      if (fn.className === null) continue;
      const list = known.methods.get(fn.className);
      if (list) list.push(fn);
      else known.methods.set(fn.className, [fn]);
    }
    members.set(file, known);
  }
  return known;
}

/** The class a method belongs to (the first class of that name in its file). */
export function classOf(file: FileFacts, fn: FunctionFacts): ClassFacts | null {
  return fn.className ? membersOf(file).classes.get(fn.className) ?? null : null;
}

/** The functions of `file` whose class is named `className`, in definition order. */
export function methodsOf(file: FileFacts, className: string): readonly FunctionFacts[] {
  return membersOf(file).methods.get(className) ?? [];
}
