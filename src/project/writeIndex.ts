/**
 * Who can change what a check read (DESIGN.md §1, "Who can race the check"): for each model
 * field, the functions that write it, and for each model, the functions that create or delete
 * its rows; for each writer, whether only privileged actors reach it (the admin site,
 * staff-only views, code that serves no request) and the route that reaches it.
 */
import type { Endpoint } from "../core/endpoint.js";
import type { FileFacts, FunctionFacts } from "../extract/facts.js";
import { ancestorNames, classOf } from "./classes.js";
import type { EndpointReach } from "./endpointReach.js";
import type { ModuleIndex } from "./modules.js";

export interface Writer {
  file: FileFacts;
  fn: FunctionFacts;
  /** The line of the write (the first one, when the function writes several times). */
  line: number;
  /** Only privileged actors reach it: the admin site, staff-only views, code that serves no request. */
  privileged: boolean;
  /** A route that runs it, when one does. */
  route: string | null;
  /** It only ever sets the field to the requesting user (stamps an owner, as at creation). */
  stampsUser: boolean;
}

const ADMIN_BASES = /^(ModelAdmin|AdminSite|InlineModelAdmin|StackedInline|TabularInline|GenericInlineModelAdmin)$/;
const STAFF_ONLY = /(^|\.)(IsAdminUser|staff_member_required|superuser_required|IsSuperUser|IsStaff\w*)$|^@(staff_member_required|superuser_required)/;

export class WriteIndex {
  /** Writers by `Model.field` (or `*.field`, model unknown). */
  private readonly byKey = new Map<string, Writer[]>();
  /** Writers by field name, whatever the model. */
  private readonly byField = new Map<string, Writer[]>();
  /** Functions that create or delete rows, by model. */
  private readonly byModel = new Map<string, Writer[]>();
  /** Functions that write some field of a model, by model (known models only). */
  private readonly anyField = new Map<string, Writer[]>();

  constructor(files: readonly FileFacts[], index: ModuleIndex, reach: EndpointReach) {
    const describe = (file: FileFacts, fn: FunctionFacts, line: number, stampsUser = false): Writer => {
      const endpoints = reach.endpointsOf(file, fn);
      return { file, fn, line, privileged: privileged(index, file, fn, endpoints), route: endpoints[0]?.route ?? null, stampsUser };
    };
    const add = (map: Map<string, Writer[]>, key: string, writer: Writer) => {
      const list = map.get(key);
      if (list) list.push(writer);
      else map.set(key, [writer]);
    };
    for (const file of files) {
      // Tests write whatever they like, and never beside production requests.
      if (isTestCode(file.path)) continue;
      for (const fn of file.functions) {
        for (const { key, line, stampsUser } of fn.fieldWrites) {
          const writer = describe(file, fn, line, stampsUser === true);
          add(this.byKey, key, writer);
          add(this.byField, key.slice(key.indexOf(".") + 1), writer);
          if (!key.startsWith("*.")) add(this.anyField, key.slice(0, key.indexOf(".")), writer);
        }
        const rowModels = new Map<string, number>();
        for (const event of fn.events) {
          if (event.type !== "write" || !event.query?.model) continue;
          if (event.op !== "create" && event.op !== "get_or_create" && event.op !== "bulk" && event.op !== "delete") continue;
          if (!rowModels.has(event.query.model)) rowModels.set(event.query.model, event.site.line);
        }
        for (const [model, line] of rowModels) add(this.byModel, model, describe(file, fn, line));
      }
    }
  }

  /**
   * Functions that write `field` of `model`: of any model when `model` is null. For a known
   * model, a write whose model the code does not show (`obj.status = …` on a parameter) counts
   * only in the same file: across the project, every `*.user` would race every `user` field.
   */
  fieldWriters(model: string | null, field: string, file: string): readonly Writer[] {
    if (field === "pk" || field === "id") return [];
    if (model === null) return this.byField.get(field) ?? [];
    return [...(this.byKey.get(`${model}.${field}`) ?? []), ...(this.byKey.get(`*.${field}`) ?? []).filter((w) => w.file.path === file)];
  }

  /** Functions that write some field of `model`. */
  modelWriters(model: string): readonly Writer[] {
    return this.anyField.get(model) ?? [];
  }

  /** Functions that create or delete rows of `model`. */
  rowWriters(model: string): readonly Writer[] {
    return this.byModel.get(model) ?? [];
  }
}

/** Test code: test modules, test directories and their utilities. */
export function isTestCode(path: string): boolean {
  const parts = path.split("/");
  return parts.slice(0, -1).some((p) => /^(tests?|testing|\w+_tests|test_?utils)$/.test(p)) || /^(test_.*|.*_tests?|tests|conftest|factories)\.py$/.test(parts[parts.length - 1]!);
}

/**
 * Only privileged actors reach this code: it serves no request (tests, migrations, commands),
 * it is the admin site's, it lets only staff through (`is_staff`/`is_superuser`), or every route
 * that runs it is for staff only.
 */
function privileged(index: ModuleIndex, file: FileFacts, fn: FunctionFacts, endpoints: readonly Endpoint[]): boolean {
  if (!file.requestCode) return true;
  // The admin site, or an admin app (`admin.py`, `admin/`): staff only.
  if (/(^|\/)admin(\.py$|\/)/.test(file.path)) return true;
  const cls = classOf(index, file, fn);
  if (cls && ancestorNames(index, file, cls).some((n) => ADMIN_BASES.test(n))) return true;
  // `@staff_member_required`, or `if not request.user.is_staff: raise` before the rest of the body.
  if (fn.events.some((e) => e.type === "check" && e.kind === "staff" && (e.guard === "decorator" || (e.negated === true && (e.whenFalse?.length ?? 0) > 0)))) return true;
  // A handler runs its own action's classes; other code of the view, those of every handler.
  const staffOnly = (names: readonly string[]) => names.some((p) => STAFF_ONLY.test(p));
  return endpoints.length > 0 && endpoints.every((e) => {
    const own = e.handlers.filter((h) => h.file === file.path && h.function === fn.name);
    const handlers = own.length > 0 ? own : e.handlers;
    return handlers.length > 0 ? handlers.every((h) => staffOnly(h.permissions ?? e.permissions)) : staffOnly(e.permissions);
  });
}
