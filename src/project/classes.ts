/** Class hierarchies across files: bases resolved through imports, attributes and methods by MRO. */
import type { ClassFacts, FileFacts, FunctionFacts } from "../extract/facts.js";
import { type ModuleIndex, type Symbol, importTarget } from "./modules.js";

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

/** The class a method belongs to. */
export function classOf(index: ModuleIndex, file: FileFacts, fn: FunctionFacts): ClassFacts | null {
  return fn.className ? index.classNamed(file, fn.className) : null;
}

/**
 * A class name as written in `file` (`IsOwner`, `perms.IsOwner`) or as a dotted settings string
 * (`app.permissions.IsOwner`, whose head is not an import of the file).
 */
export function resolveClassName(index: ModuleIndex, file: FileFacts, name: string): Symbol {
  return name.includes(".") && !importTarget(file, name.split(".")[0]!) ? index.resolveQualified(name) : index.resolve(file, name);
}
