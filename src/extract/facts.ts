/**
 * Per-file facts: the only thing that leaves the extract stage. Plain, serialisable data
 * (no syntax nodes), so files can be extracted in any order, in workers, or from a cache.
 *
 * Positions: `pos` is the source offset of an event and orders events inside a function;
 * a `Span` is a half-open [start, end) range of offsets. Lines are 1-based, columns 1-based.
 */

export type Span = [start: number, end: number];

export interface SourceSite {
  line: number;
  column: number;
  endLine: number;
  /** The trimmed source line, for messages and code frames. */
  text: string;
}

/** What a check decides on. Only some kinds are authorization (see `AUTHZ_CHECK_KINDS`). */
export type CheckKind =
  | "perm" // has_perm, permission_required, guardian/rules permission APIs
  | "group" // group membership
  | "membership" // a membership/role table queried for the requesting user
  | "object-perm" // check_object_permissions
  | "helper" // a call recognised by name as an authorization helper
  | "staff" // in-memory is_staff / is_superuser flags
  | "user-attr" // other in-memory attributes of the request user: role, tier, profile.*
  | "session" // a flag read back from request.session
  | "state" // a fetched object's field
  | "exists"; // an exists()/count()/len() guard on a queryset

export type GuardKind = "if" | "raise-call" | "decorator" | "assert" | "except";

export interface CheckEvent {
  type: "check";
  pos: number;
  site: SourceSite;
  kind: CheckKind;
  /** Ranges of the function that run only when the check passed (or only when it failed). */
  scopes: Span[];
  /**
   * The scopes that run when the condition holding the check is false (the code after an
   * `if` whose body exits, `else`/`elif` bodies); the others run when it is true.
   */
  whenFalse?: Span[];
  /** The check stands under an odd number of negations in its condition (`not`, `!=`, `not in`, `is not`). */
  negated?: boolean;
  /** Compared with a bound (`user.level < 3`): either side may be the grant, so it is never deny-only. */
  threshold?: boolean;
  /** The integer literal a count is compared with (`admins.count() <= 1` → `1`). */
  bound?: string;
  guard: GuardKind;
  /** State checks: the object variable definition whose field is read. */
  subjectDef?: number;
  /**
   * State checks: the field read (`status`), `null` when a method result is tested. Checks of
   * the request user's attributes: the flag or role field read (`is_staff`, `tier` of `profile.tier`).
   */
  field?: string | null;
  /** Authorization checks: the check runs on a locked object (`locked_user.has_perm`). */
  onDefs?: number[];
  /** Existence checks: the queryset guarded. */
  query?: QueryShape;
  /** True when a name pattern, not a known API, made this a check. */
  byName: boolean;
  /** State checks written `obj.field != value`: the other operand's text. */
  comparedTo?: string;
  /** State checks against a literal other than True/False/None (`inv.status == "open"`): the field holds more than yes or no. */
  manyValued?: boolean;
  /** The guarded code only assigns the value it compared with: any order gives the same result. */
  idempotent?: boolean;
  /** State checks that compare the field with the requesting user (`obj.owner == request.user`): an ownership test. */
  identity?: boolean;
  /** Set on checks made elsewhere and applied to this function (a DRF permission class): their file. */
  file?: string;
  /** Authorization checks on a user object: the receiver as written (`request.user`, `user`). */
  receiver?: string;
  /** Session checks: the key read. */
  key?: string;
  /**
   * The call that makes the check, when there is one: the permission API or helper
   * (`has_perm`, `get_all_permissions`, `can_edit`), or how an existence check asks (`exists`,
   * `count`, `len`, `bool` for `if qs:`, `get` for get() / except DoesNotExist).
   */
  method?: string;
}

/** The shape of an ORM queryset expression, enough to compare two of them. */
export interface QueryShape {
  /** Model class name when the base is `Model.objects`, otherwise null. */
  model: string | null;
  /** The receiver text for related managers (`request.user.invoices`), or the model name. */
  source: string;
  /** Keyword argument names of filter()/get()/exclude(), lookups stripped (`owner__id` → `owner`). */
  filterFields: string[];
  /** The filter mentions the requesting user: authorization folded into the query. */
  filterRefsUser: boolean;
  locked: boolean;
  /** Custom manager/queryset methods in the chain (`payable` in `Invoice.objects.payable()`); the index knows which lock. */
  custom?: string[];
}

export interface FetchEvent {
  type: "fetch";
  pos: number;
  site: SourceSite;
  /** Definition id of the variable that receives the result, if any. */
  def: number | null;
  query: QueryShape;
  /** A single object (`get`, `first`, `get_object_or_404`) rather than rows iterated. */
  single: boolean;
  /** Offset where the queryset was built (differs from `pos` for lazy querysets). */
  builtPos: number;
  /** Set when the fetch happens inside a called helper of this name (resolved from a call). */
  via?: string;
}

export type WriteOp =
  | "save"
  | "delete"
  | "update"
  | "create"
  | "get_or_create"
  | "bulk"
  | "m2m"
  | "serializer-save"
  | "enqueue";

export interface WriteEvent {
  type: "write";
  pos: number;
  site: SourceSite;
  op: WriteOp;
  /** Variable definitions written or referenced by the write (`inv.save()`, `create(invoice=inv)`). */
  defs: number[];
  /** The definition the write is a method of (`inv.save()` → inv), when there is one. */
  targetDef: number | null;
  /** Queryset writes and creates. */
  query: QueryShape | null;
  /** `update()` keyword names whose value uses `F()`. */
  fFields: string[];
  /** Lookup keywords of `get_or_create`/`update_or_create` (without `defaults`), or the fields a create sets. */
  lookupFields: string[];
  /** `get_or_create(a=…, **kwargs)`: lookup fields the code does not name may come through the splat. */
  openLookup?: boolean;
  /** `get_or_create`/`update_or_create`: the keys of a literal `defaults` (or `create_defaults`) dict, the other fields a created row gets. */
  defaultFields?: string[];
  /** The ORM method as written, where the op folds several (`update_or_create` for op `get_or_create`, `bulk_update` for op `bulk`). */
  method?: string;
  /** `bulk_create(ignore_conflicts=True)` (or `update_conflicts=True`): the database absorbs duplicates. */
  ignoreConflicts?: boolean;
  /** Lookup or create keywords given a value that may be None (`None`, a parameter defaulting to None): NULL never collides in a unique index. */
  maybeNullFields?: string[];
  /** Set when the write happens inside a called helper of this name (resolved from a call). */
  via?: string;
  /** Enqueues: the task called (`send_payout` for `send_payout.delay(…)`). */
  task?: string;
  /**
   * The fields the write sets, when it names them: `update(a=…, b=…)`, `save(update_fields=[…])`.
   * Absent for a save of every field, a create, a delete.
   */
  setFields?: string[];
  /** Relation writes: an argument is the requesting user (`group.user_set.add(request.user)`). */
  argsRefUser?: boolean;
}

export interface DiscloseEvent {
  type: "disclose";
  pos: number;
  site: SourceSite;
  defs: number[];
}

/** A call to something that may be a helper of this file; the project stage resolves it. */
export interface CallEvent {
  type: "call";
  pos: number;
  site: SourceSite;
  /** `name` for plain calls, `self.name` for methods of the enclosing class. */
  callee: string;
  /** Guard scopes when the call's result decides a branch or the call may raise. */
  scopes: Span[];
  guard: GuardKind | null;
  /** Definitions passed as arguments. */
  argDefs: number[];
  /** Variables passed whole (`f(inv, user=obj)`), by position or keyword, so a callee's writes to its parameters land on them. */
  passed?: { at: number | string; def: number }[];
  /** Definition the result is assigned to. */
  resultDef: number | null;
  /**
   * `manager.fetch()` on a variable holding `Manager(...)`, `job.finish()` on a fetched `Job`:
   * the class, so the project can find the method.
   */
  receiverClass?: string;
  /** The variable the method is called on (`job` in `job.finish()`): a write the method makes to `self` is a write to it. */
  receiverDef?: number;
}

export interface RefreshEvent {
  type: "refresh";
  pos: number;
  site: SourceSite;
  /** The object re-read; -1 for the request user. */
  def: number;
  /** `refresh_from_db(from_queryset=….select_for_update())`. */
  locked: boolean;
  /** `del user._perm_cache` and friends: drops ModelBackend's permission cache (refresh_from_db does not). */
  permCache?: boolean;
}

/** A value stored where it outlives the statement: the cache, a session, a module or class dict. */
export interface StoreEvent {
  type: "store";
  pos: number;
  site: SourceSite;
  /** `cache` (django cache), `session`, or the dict's name (`_PERMS`, `class:_cache`). */
  target: string;
  /** Session stores: the key literal. */
  key?: string;
  /** The stored value is the answer of a check of this kind. */
  valueCheck: CheckKind | null;
  /** The stored value is the result of this call (resolved later). */
  valueCallee: string | null;
}

/**
 * `obj.field = value` (or `+=`, `-=`…) on a tracked object: which field the function sets, to
 * what, and whether the new value is computed from the old one (read-modify-write).
 */
export interface AssignEvent {
  type: "assign";
  pos: number;
  site: SourceSite;
  /** The object assigned to. */
  def: number;
  field: string;
  /** The assigned value's text, whitespace folded (`True`, `"paid"`, `balance - amount`). */
  value: string;
  /** The value is a literal (a string, number, True/False/None): a state set, not computed. */
  literal: boolean;
  /** `+=`/`-=`, or a value that reads the same field (`obj.n = obj.n + 1`). */
  readModifyWrite: boolean;
}

/** Work that widens the window: network or file I/O, sleeps, loops of queries. */
export interface SlowEvent {
  type: "slow";
  pos: number;
  site: SourceSite;
  what: string;
  /** A helper whose only slow work is loops of queries (no network, file I/O or sleeping). */
  queriesOnly?: boolean;
}

export type FunctionEvent =
  | CheckEvent
  | FetchEvent
  | WriteEvent
  | DiscloseEvent
  | CallEvent
  | RefreshEvent
  | StoreEvent
  | SlowEvent
  | AssignEvent;

export type RegionKind = "atomic" | "loop" | "try-integrity";

export interface Region {
  kind: RegionKind;
  span: Span;
  site: SourceSite;
}

export interface VariableDef {
  id: number;
  name: string;
  pos: number;
  /** How the value came to be. */
  origin: "fetch" | "queryset" | "new-instance" | "derived" | "request-user" | "self" | "other";
  /** For querysets and fetches. */
  query?: QueryShape;
  /** Definitions this one was computed from (a serializer of `inv` derives from inv). */
  from: number[];
  /** A fetch that yields None when no row matches (`first()`, `last()`): testing it asks whether the row exists. */
  maybeNone?: boolean;
}

export interface FunctionFacts {
  /** Qualified name inside the module: `InvoiceViewSet.pay`, `outer.inner`. */
  name: string;
  className: string | null;
  params: string[];
  isAsync: boolean;
  site: SourceSite;
  span: Span;
  decorators: string[];
  /** 1-based line of each decorator. */
  decoratorLines: number[];
  /** Looks like a request handler (first parameter `request`, a view class method, `@api_view`). */
  viewLike: boolean;
  /** The body decodes `Authorization: Basic …` credentials (a middleware or decorator). */
  decodesBasicAuth: boolean;
  /** Text facts for credential-checking code: mentions `is_active`, calls `authenticate(…)`, calls the parent's `authenticate_credentials`. */
  credentialFacts: { isActive: boolean; authenticate: boolean; superCredentials: boolean } | null;
  /** The body mentions `is_active` (a helper such as `check_user(user)` that refuses inactive users). */
  readsIsActive: boolean;
  /** `@transaction.non_atomic_requests`. */
  nonAtomicRequests: boolean;
  /** The function returns a locked, unevaluated queryset. */
  returnsLockedQuery: boolean;
  /** The function returns the value of an authorization check. */
  returnsCheck: CheckKind | null;
  /** Callees whose results the function returns (a helper returning another helper's answer). */
  returnCallees: string[];
  /** Functions this one connects to `post_migrate`/`pre_migrate` (`post_migrate.connect(create_perms)`), as written. */
  migrateReceivers?: string[];
  /** The function raises PermissionDenied/Http404 or returns a 403 somewhere. */
  denies: boolean;
  /**
   * The fields this function assigns or updates, as `Model.field` (or `*.field`, model unknown)
   * keys, each with the line of its first write, sorted by key.
   */
  fieldWrites: FieldWrite[];
  events: FunctionEvent[];
  regions: Region[];
  defs: VariableDef[];
}

export interface FieldWrite {
  key: string;
  line: number;
  /** Every write of this field in the function sets it to the requesting user (`obj.owner = request.user`): it stamps an owner. */
  stampsUser?: boolean;
}

export interface ModelFacts {
  name: string;
  /** Base classes as written (`models.Model`, `TimeStampedModel`). */
  bases: string[];
  /** Field sets with a uniqueness guarantee (`unique=True`, `unique_together`, `UniqueConstraint`). */
  uniqueSets: string[][];
  /** Fields declared `null=True`: a unique set holding one is not enforced for rows where it is NULL. */
  nullableFields?: string[];
  /**
   * Unique sets enforced for NULLs too: `UniqueConstraint(nulls_distinct=False)` (every field), or
   * one over `fields` with `condition=Q(field=None)` (that field, in `fields` plus it).
   */
  nullSafe?: { fields: string[]; field: string | null }[];
  /** Manager or queryset classes the model installs (`objects = PageViewManager()`, `objects = Q.as_manager()`). */
  managers?: string[];
  /** `save()` always sets the primary key to a constant (`self.pk = SINGLETON_ID`): a second row cannot be inserted. */
  fixedPk?: boolean;
  /** `Meta.abstract = True`: its Meta options reach a subclass only through Django's Meta inheritance. */
  abstract?: boolean;
  /** The class declares its own `class Meta`, which replaces (or, subclassing a base's, extends) the one it would inherit. */
  meta?: ModelMeta;
}

/** Meta options a model states itself, where inheriting unique sets from an abstract base depends on them. */
export interface ModelMeta {
  /** Models whose Meta this one subclasses (`class Meta(Base.Meta)` → `Base`). */
  bases: string[];
  /** Unique sets by the option that declares them; an option given here replaces the inherited one. */
  sets: { unique_together?: string[][]; constraints?: string[][] };
  /** Models whose option the value reuses (`constraints = Base.Meta.constraints + [...]` → `Base`). */
  reuses: { unique_together?: string[]; constraints?: string[] };
}

export interface SettingsFacts {
  /** ENGINE strings found in DATABASES; null when DATABASES is not a literal we can read. */
  engines: string[] | null;
  atomicRequests: boolean;
}

export interface ClassFacts {
  name: string;
  bases: string[];
  site: SourceSite;
  /** Class-level lists of classes: `permission_classes`, `authentication_classes`, … as written. */
  attrs: Record<string, string[]>;
  /** The class body decodes `Authorization: Basic …` credentials itself. */
  decodesBasicAuth: boolean;
  /** The class defines `get_permissions()`: what it returns per `self.action`. */
  getPermissions?: GetPermissionsFacts;
  /** Class-level dicts of permission class lists keyed by action (`permission_classes_by_action`). */
  permissionDicts?: Record<string, Record<string, string[]>>;
  /**
   * A class not recognised as a model that declares a `Meta` or a `save()`: what it says about
   * uniqueness, should the project stage find it inherits from a model.
   */
  asModel?: ModelFacts;
}

/** When a `get_permissions()` rule applies: `self.action` is (or, `negated`, is not) one of `actions`. */
export interface ActionTest {
  actions: string[];
  negated: boolean;
  /**
   * The condition tests something more than the action (or nothing readable): for the actions
   * it names (every action when `actions` is empty) the rule may or may not apply.
   */
  uncertain: boolean;
}

/** What a `get_permissions()` branch returns. */
export type PermissionOutcome =
  | { kind: "classes"; names: string[] }
  /** The view's `permission_classes` (an `@action(permission_classes=…)` override for that action). */
  | { kind: "class" }
  /** `self.<attr>[self.action]` or `.get(self.action, fallback)`, `attr` a class dict. */
  | { kind: "by-action"; attr: string; fallback?: { kind: "classes"; names: string[] } | { kind: "class" } }
  | { kind: "unknown" };

/** First matching rule wins; `test` null matches every action. */
export interface PermissionRule {
  test: ActionTest | null;
  outcome: PermissionOutcome;
}

export interface GetPermissionsFacts {
  rules: PermissionRule[];
  /** The body was not understood: the permissions of every action are unknown. */
  opaque: boolean;
}

/** Where a URL pattern sends requests. */
export type ViewRef =
  | { kind: "callable"; target: string }
  | { kind: "class"; target: string; actions?: Record<string, string> }
  | { kind: "include"; module: string }
  | { kind: "include-name"; name: string }
  | { kind: "inline"; patterns: UrlEntry[] }
  | { kind: "router"; router: string }
  | { kind: "site"; text: string }
  | { kind: "unknown"; text: string };

export interface UrlEntry {
  line: number;
  route: string;
  /** `re_path`/`url`: the route is a regular expression. */
  regex: boolean;
  view: ViewRef;
  name?: string;
}

export interface RouterRegistration {
  router: string;
  prefix: string;
  viewset: string;
  line: number;
}

/** A module-level assignment to a tracked setting (`MIDDLEWARE += [...]`). */
export interface SettingAssignment {
  name: string;
  op: "set" | "extend" | "prepend" | "remove";
  line: number;
  /** String values; null when computed. Classes referenced directly are prefixed with `@`. */
  values: string[] | null;
  /** For dict settings (REST_FRAMEWORK): key → strings. */
  dict?: Record<string, string[] | null>;
}

/** A comment that may suppress findings (`# noqa: STC101`, `# stalecheck: ignore[...]`), verbatim. */
export interface Directive {
  line: number;
  text: string;
}

export interface ParseProblem {
  line: number;
  message: string;
}

export interface FileFacts {
  /** Path relative to the scan root, forward slashes. */
  path: string;
  lines: number;
  /** Request path code? False for tests, migrations and management commands. */
  requestCode: boolean;
  imports: Record<string, string>;
  classes: ClassFacts[];
  functions: FunctionFacts[];
  models: ModelFacts[];
  settings: SettingsFacts | null;
  /** `*.field` keys for fields assigned outside functions; functions carry their own. */
  mutatedFields: string[];
  problems: ParseProblem[];
  /** Suppression comments, in line order. */
  directives: Directive[];
  /** `urlpatterns` entries in source order; null when the module defines none. */
  urlpatterns: UrlEntry[] | null;
  routers: RouterRegistration[];
  settingAssignments: SettingAssignment[];
  /** Modules imported with `from X import *`, as written (`.base`). */
  starImports: string[];
  /** Names bound to a dict at module level (`_CACHE = {}`): state shared across requests. */
  moduleDicts: string[];
  /** `DJANGO_SETTINGS_MODULE` default set by this module (manage.py, wsgi.py). */
  settingsModule: string | null;
}

export const AUTHZ_CHECK_KINDS: ReadonlySet<CheckKind> = new Set([
  "perm",
  "group",
  "membership",
  "object-perm",
  "helper",
]);
