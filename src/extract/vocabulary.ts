/**
 * Python and Django vocabulary the extractor recognises. Names only: which rule cares about
 * what is decided later, in the rules.
 */
import type { CheckKind } from "./facts.js";

/** Queryset methods that return another lazy queryset. */
export const QUERYSET_BUILDERS = new Set([
  "all", "filter", "exclude", "select_related", "prefetch_related", "order_by", "select_for_update",
  "only", "defer", "annotate", "alias", "values", "values_list", "distinct", "using", "none",
  "reverse", "extra", "union", "intersection", "difference", "get_queryset", "iterator",
]);

/** Queryset methods that run a query returning one object. */
export const SINGLE_FETCHES = new Set([
  "get", "first", "last", "earliest", "latest", "aget", "afirst", "alast", "aearliest", "alatest",
]);

/** Queryset methods answering "is there any / how many" — existence guards. */
export const EXISTENCE_METHODS = new Set(["exists", "count", "aexists", "acount"]);

export const QUERYSET_WRITES: Record<string, "update" | "delete" | "create" | "get_or_create" | "bulk"> = {
  update: "update", aupdate: "update",
  delete: "delete", adelete: "delete",
  create: "create", acreate: "create",
  get_or_create: "get_or_create", aget_or_create: "get_or_create",
  update_or_create: "get_or_create", aupdate_or_create: "get_or_create",
  bulk_create: "bulk", abulk_create: "bulk", bulk_update: "bulk", abulk_update: "bulk",
};

/** Manager attributes that make `X.<attr>` an ORM entry point. */
export const MANAGER_ATTRS = new Set(["objects", "_default_manager", "_base_manager"]);

export const INSTANCE_WRITES: Record<string, "save" | "delete"> = {
  save: "save", asave: "save", delete: "delete", adelete: "delete",
};

export const M2M_WRITES = new Set(["add", "remove", "set", "clear", "aadd", "aremove", "aset", "aclear"]);

export const FETCH_FUNCTIONS = new Set(["get_object_or_404", "aget_object_or_404", "get_list_or_404", "aget_list_or_404"]);

/** Callables whose return value is an HTTP response; returning fetched data through them discloses it. */
export const RESPONSE_FACTORIES = new Set([
  "Response", "JsonResponse", "HttpResponse", "render", "TemplateResponse", "render_to_response",
  "StreamingHttpResponse", "FileResponse", "SimpleTemplateResponse",
]);

export const ENQUEUE_METHODS = new Set(["delay", "apply_async", "send_task", "enqueue"]);

/** Module roots whose calls are slow: network clients, subprocesses, and image decoding and rendering (PIL reads files and spends seconds on large images). */
export const SLOW_ROOTS = new Set(["requests", "httpx", "urllib", "urllib3", "subprocess", "smtplib", "socket", "boto3", "stripe", "aiohttp", "PIL"]);
/** Functions that do network, mail or sleeping work. */
export const SLOW_FUNCTIONS = new Set(["sleep", "urlopen", "send_mail", "send_mass_mail", "mail_admins", "mail_managers"]);
/** `asyncio.run(...)` and friends: a view that runs a coroutine to completion is waiting on I/O. */
export const COROUTINE_RUNNERS = new Set(["run", "run_until_complete"]);

/** Builtins and trivial helpers that never touch the database. */
export const TRIVIAL_CALLS = new Set([
  "len", "str", "int", "float", "bool", "list", "dict", "set", "tuple", "print", "isinstance", "issubclass",
  "getattr", "hasattr", "setattr", "range", "enumerate", "zip", "sorted", "min", "max", "sum", "any", "all",
  "repr", "super", "type", "Decimal", "reverse", "_", "gettext", "gettext_lazy", "ugettext", "format_html",
  "mark_safe", "sync_to_async", "async_to_sync", "iter", "next", "abs", "round", "map", "filter", "vars",
  "redirect", "HttpResponseRedirect", "Q", "F", "Value",
]);

/** Permission-related exceptions whose raise marks a helper as a raising check. */
export const DENIAL_EXCEPTIONS = new Set(["PermissionDenied", "NotAuthenticated", "PermissionError", "Http404", "NotFound", "Forbidden", "HttpResponseForbidden"]);

/** Response factories that deny access when returned. */
export const DENIAL_RESPONSES = new Set(["HttpResponseForbidden", "HttpResponseNotFound"]);

/** Method names on a user (or user-like) object that consult the database for authorization. */
const USER_PERMISSION_METHODS: Record<string, CheckKind> = {
  has_perm: "perm", has_perms: "perm", has_module_perms: "perm", get_all_permissions: "perm",
  get_group_permissions: "perm", get_user_permissions: "perm", ahas_perm: "perm", ahas_perms: "perm",
  ahas_module_perms: "perm", aget_all_permissions: "perm",
};

/** Known module-level authorization APIs (django-guardian, django-rules). */
const KNOWN_CHECK_FUNCTIONS: Record<string, CheckKind> = {
  get_perms: "perm", get_user_perms: "perm", get_group_perms: "perm", test_rule: "perm",
  check_object_permissions: "object-perm", check_permissions: "perm",
};

/** In-memory attributes of the request user; decided at authentication, never re-read. */
export const USER_FLAG_ATTRS = new Set(["is_staff", "is_superuser"]);

/** Names that do not authorise anything despite matching a helper pattern. */
const NOT_AUTHORIZATION = /^(check_password|acheck_password|check_token|check_output|check_call|ensure_csrf_cookie|check_throttles|check_request_enabled|check_for_language|check_dependencies|check_migrations|checksum|can_(?:delete|order)_extra|check_.*(?:_format|_syntax|_type|_length|_version)s?)$/;

const ROLE_NAMES = /(?:^|_)(?:role|roles)(?:_|$)/;

/**
 * Classifies a called name as an authorization check by its name alone.
 * `raising` is true for statement-level calls that must raise to deny.
 */
export function checkKindByName(name: string, raising: boolean): CheckKind | null {
  // Own properties only: a Python name such as `constructor` must not find Object.prototype's.
  if (Object.hasOwn(USER_PERMISSION_METHODS, name)) return USER_PERMISSION_METHODS[name]!;
  if (Object.hasOwn(KNOWN_CHECK_FUNCTIONS, name)) return KNOWN_CHECK_FUNCTIONS[name]!;
  if (NOT_AUTHORIZATION.test(name)) return null;
  if (/^(a?is_in_group|in_group|user_in_group|is_group_member|in_groups)$/.test(name)) return "group";
  if (/^(has_role|has_roles|user_has_role|is_member|is_member_of|is_a_member)/.test(name) || ROLE_NAMES.test(name) && name.startsWith("has_")) return "membership";
  if (raising) {
    if (/^(ensure_|require_|assert_).*(perm|access|owner|role|group|member|admin|staff|allowed|can_)/.test(name)) return "helper";
    if (/^check_.*(perm|access|owner|role|group|member|allowed)/.test(name)) return "helper";
    return null;
  }
  if (/^(can_|user_can_|a?has_.*(perm|permission|access)|user_is_|is_owner|is_admin_of|is_allowed|a?is_authorized|may_)/.test(name)) return "helper";
  return null;
}

/** Names recognised as known authorization APIs (not heuristics). */
export function isKnownCheckApi(name: string): boolean {
  return Object.hasOwn(USER_PERMISSION_METHODS, name) || Object.hasOwn(KNOWN_CHECK_FUNCTIONS, name);
}

/** Decorators that gate a whole view on an authorization decision. */
export function decoratorCheckKind(dottedName: string): CheckKind | null {
  const last = dottedName.split(".").pop() ?? "";
  if (last === "permission_required" || last === "permission_required_or_403") return "perm";
  if (last === "user_passes_test") return "helper";
  if (last === "staff_member_required" || last === "superuser_required") return "staff";
  return null;
}

/** Model names whose rows an authorization decision typically depends on. */
export const AUTHZ_MODEL = /user|member|group|role|profile|permission|team|staff/i;

/** Exceptions a database uniqueness violation raises. */
export const INTEGRITY_ERRORS = new Set(["IntegrityError"]);
