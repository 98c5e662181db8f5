/**
 * Builds the event model of one function: an ordered list of checks, fetches, writes,
 * disclosures, calls and slow work, with the regions (atomic blocks, loops) they sit in and
 * the ranges each check guards. The walk is iterative; nested functions and classes are
 * skipped here (they are modelled on their own).
 */
import type { SyntaxNode } from "../parse/parser.js";
import type {
  CallEvent, CheckEvent, CheckKind, FetchEvent, FunctionEvent, FunctionFacts, GuardKind, QueryShape, Region,
  Span, StoreEvent, VariableDef, WriteEvent, WriteOp,
} from "./facts.js";
import type { FunctionSite } from "./moduleFacts.js";
import { BASIC_AUTH_DECODING, mutatedByCall, normaliseField } from "./moduleFacts.js";
import {
  SourceLines, blockExits, dominatedEnd, dottedName, field, keywordArguments, positionalArguments,
  rootIdentifier, span, stringValue, unwrap,
} from "./syntax.js";
import {
  DENIAL_EXCEPTIONS, DENIAL_RESPONSES, ENQUEUE_METHODS, EXISTENCE_METHODS, FETCH_FUNCTIONS, INSTANCE_WRITES,
  INTEGRITY_ERRORS, M2M_WRITES, MANAGER_ATTRS, QUERYSET_BUILDERS, QUERYSET_WRITES, RESPONSE_FACTORIES,
  SINGLE_FETCHES, SLOW_FUNCTIONS, SLOW_ROOTS, TRIVIAL_CALLS, USER_FLAG_ATTRS, checkKindByName,
  decoratorCheckKind, isKnownCheckApi,
} from "./vocabulary.js";

export interface FileContext {
  lines: SourceLines;
  imports: Record<string, string>;
  /** Extra dotted names that open a transaction when used as decorator or context manager. */
  transactionNames: ReadonlySet<string>;
}

const HANDLER_NAMES = new Set([
  "get", "post", "put", "patch", "delete", "head", "options", "list", "create", "retrieve", "update",
  "partial_update", "destroy", "perform_create", "perform_update", "perform_destroy", "form_valid", "dispatch",
]);
const VIEW_DECORATORS = /(^|\.)(api_view|action|require_http_methods|require_POST|require_GET|require_safe|login_required|permission_required|user_passes_test|staff_member_required|csrf_exempt)$/;
const VIEW_BASES = /View|ViewSet|Mixin|APIView/;

/** What an expression evaluates to, as far as the model cares. */
type Value =
  | { kind: "queryset"; query: QueryShape; builtPos: number; defs: number[] }
  | { kind: "fetch"; event: FetchEvent | null; query: QueryShape; single: boolean }
  | { kind: "check"; events: (CheckEvent | CallEvent)[] }
  | { kind: "new"; model: string }
  | { kind: "call"; event: CallEvent }
  | { kind: "other" };

type StackItem = { node: SyntaxNode } | { after: () => void };

export function extractFunction(site: FunctionSite, ctx: FileContext): FunctionFacts {
  return new FunctionWalker(site, ctx).run();
}

class FunctionWalker {
  private readonly events: FunctionEvent[] = [];
  private readonly regions: Region[] = [];
  private readonly defs: VariableDef[] = [];
  private readonly current = new Map<string, number>();
  /** Variables holding the result of a check, so `if not allowed:` guards with it. */
  private readonly checkVars = new Map<string, (CheckEvent | CallEvent)[]>();
  private readonly stack: StackItem[] = [];
  /** Call nodes known not to start an ORM chain, so long chains are walked once. */
  private readonly notOrm = new Set<number>();
  private permCacheNamed: boolean | undefined;
  /** `Model.field` (or `*.field` when the model is unknown) for every field this function assigns. */
  private readonly mutations = new Set<string>();
  private readonly facts: FunctionFacts;

  constructor(private readonly site: FunctionSite, private readonly ctx: FileContext) {
    const node = site.node;
    const params = readParams(field(node, "parameters"));
    const decorators = site.decorators.map((d) => (d.namedChildren[0] ? d.namedChildren[0].text : d.text));
    const shortName = site.qualifiedName.split(".").pop() ?? "";
    const firstArg = site.className !== null && (params[0] === "self" || params[0] === "cls") ? params[1] : params[0];
    const viewLike =
      firstArg === "request" ||
      decorators.some((d) => VIEW_DECORATORS.test(d.split("(")[0]!)) ||
      (site.className !== null && site.classBases.some((b) => VIEW_BASES.test(b)) && HANDLER_NAMES.has(shortName));
    this.facts = {
      name: site.qualifiedName,
      className: site.className,
      params,
      isAsync: node.children.some((c) => c.type === "async"),
      site: ctx.lines.site(node),
      span: span(node),
      decorators,
      decoratorLines: site.decorators.map((d) => d.startPosition.row + 1),
      viewLike,
      decodesBasicAuth: BASIC_AUTH_DECODING.test(node.text),
      credentialFacts: /check_password|authenticate/.test(node.text)
        ? {
          isActive: /\bis_active\b/.test(node.text),
          // A call to django.contrib.auth.authenticate(), not the `def authenticate(` being defined.
          authenticate: /(?<!def )(?<![.\w])authenticate\s*\(|\bauth\.authenticate\s*\(/.test(node.text),
          superCredentials: /super\([^)]*\)\.authenticate_credentials\s*\(/.test(node.text),
        }
        : null,
      nonAtomicRequests: decorators.some((d) => /non_atomic_requests/.test(d)),
      returnsLockedQuery: false,
      returnsCheck: null,
      returnCallees: [],
      denies: false,
      mutatedFields: [],
      events: this.events,
      regions: this.regions,
      defs: this.defs,
    };
  }

  run(): FunctionFacts {
    const node = this.site.node;
    const body = field(node, "body");
    for (const param of this.facts.params) {
      if (param === "user" || param === "request_user") this.define(param, "request-user", node.startIndex, []);
      // Other parameters are objects handed in (perform_destroy(self, instance)): writes on them count.
      else if (param !== "self" && param !== "cls" && param !== "request") this.define(param, "other", node.startIndex, []);
    }
    // DRF passes has_object_permission() the instance get_object() fetched, without a lock.
    if (this.site.qualifiedName.endsWith(".has_object_permission") && this.facts.params.length >= 4) {
      const obj = this.facts.params[this.facts.params.length - 1]!;
      this.define(obj, "fetch", node.startIndex, [], { model: null, source: "get_object()", filterFields: [], filterRefsUser: false, locked: false });
    }
    if (body) {
      this.applyDecorators(body);
      this.stack.push({ node: body });
      this.drain();
    }
    this.events.sort((a, b) => a.pos - b.pos);
    this.facts.mutatedFields = [...this.mutations].sort();
    return this.facts;
  }

  // ---- walking -------------------------------------------------------------------------

  private drain(): void {
    while (this.stack.length > 0) {
      const item = this.stack.pop()!;
      if ("after" in item) {
        item.after();
        continue;
      }
      this.visit(item.node);
    }
  }

  private pushChildren(node: SyntaxNode): void {
    const children = node.namedChildren;
    for (let i = children.length - 1; i >= 0; i--) this.stack.push({ node: children[i]! });
  }

  private pushAll(nodes: (SyntaxNode | null | undefined)[]): void {
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      if (node) this.stack.push({ node });
    }
  }

  private visit(node: SyntaxNode): void {
    switch (node.type) {
      case "function_definition":
      case "class_definition":
      case "decorated_definition":
      case "lambda":
        return;
      case "if_statement":
        return this.visitIf(node);
      case "for_statement":
        return this.visitFor(node);
      case "while_statement":
        this.addRegion("loop", node);
        return this.pushChildren(node);
      case "with_statement":
        return this.visitWith(node);
      case "try_statement":
        return this.visitTry(node);
      case "assert_statement": {
        const condition = node.namedChildren[0];
        if (condition) this.analyseCondition(condition, [[node.endIndex, dominatedEnd(node)]], "assert");
        return;
      }
      case "return_statement":
        return this.visitReturn(node);
      case "delete_statement": {
        // del user._perm_cache: ModelBackend recomputes permissions on the next has_perm().
        if (/_(user_|group_)?perm_cache\b/.test(node.text)) {
          const root = rootIdentifier(node.namedChildren[0]?.type === "attribute" ? node.namedChildren[0] : node.namedChildren[0]?.namedChildren[0] ?? node);
          this.permCacheCleared(node, root ? this.lookup(root.text) : null);
        }
        return;
      }
      case "raise_statement":
        return this.visitRaise(node);
      case "expression_statement":
        return this.visitExpressionStatement(node);
      case "assignment":
        return this.visitAssignment(node);
      case "augmented_assignment": {
        const left = field(node, "left");
        if (left?.type === "attribute") this.recordAttributeWrite(left, node);
        return this.pushChildren(node);
      }
      case "call":
        this.visitCall(node, null, null);
        return;
      case "subscript":
        return this.visitSubscript(node);
      default:
        return this.pushChildren(node);
    }
  }

  private visitExpressionStatement(node: SyntaxNode): void {
    const expression = node.namedChildren[0];
    if (!expression) return;
    const inner = unwrap(expression);
    if (inner.type === "call") {
      // A statement-level call may raise to deny: what follows it runs only if it passed.
      this.visitCall(inner, [[node.endIndex, dominatedEnd(node)]], "raise-call");
      return;
    }
    this.pushChildren(node);
  }

  private visitIf(node: SyntaxNode): void {
    const alternatives = node.childrenForFieldName("alternative");
    const clauses: { condition: SyntaxNode | null; body: SyntaxNode | null }[] = [
      { condition: field(node, "condition"), body: field(node, "consequence") },
      ...alternatives.map((alt) =>
        alt.type === "elif_clause"
          ? { condition: field(alt, "condition"), body: field(alt, "consequence") }
          : { condition: null, body: field(alt, "body") },
      ),
    ];
    const after: Span = [node.endIndex, dominatedEnd(node)];
    clauses.forEach((clause, index) => {
      if (!clause.condition || !clause.body) return;
      const later = clauses.slice(index + 1).flatMap((c) => (c.body ? [span(c.body)] : []));
      // The body runs when the check passed; with an exit, so does everything after the if.
      const scopes: Span[] = blockExits(clause.body) ? [span(clause.body), after, ...later] : [span(clause.body), ...later];
      this.analyseCondition(clause.condition, scopes, "if");
    });
    this.pushAll(clauses.map((c) => c.body));
  }

  private visitFor(node: SyntaxNode): void {
    const left = field(node, "left");
    const right = field(node, "right");
    const body = field(node, "body");
    this.addRegion("loop", node);
    if (right) {
      const value = this.evaluate(right);
      const target = left?.type === "identifier" ? left.text : null;
      if (value.kind === "queryset") {
        const event = this.emitFetch(node, value.query, false, value.builtPos);
        if (target) event.def = this.define(target, "fetch", node.startIndex, value.defs, value.query);
      } else if (value.kind === "fetch" && target) {
        this.define(target, "fetch", node.startIndex, [], value.query);
      } else if (target) {
        this.define(target, "derived", node.startIndex, this.referencedDefs(right));
      }
    }
    this.pushAll([body, field(node, "alternative")]);
  }

  private visitWith(node: SyntaxNode): void {
    const body = field(node, "body");
    const items = node.namedChildren.find((c) => c.type === "with_clause");
    const toWalk: SyntaxNode[] = [];
    for (const item of items ? items.namedChildren : []) {
      const value = field(item, "value");
      if (!value) continue;
      const expression = value.type === "as_pattern" ? value.namedChildren[0] : value;
      // `with transaction.atomic:` (no call) fails at run time and opens nothing.
      if (expression && expression.type === "call" && this.isTransaction(expression) && body) {
        this.regions.push({ kind: "atomic", span: span(body), site: this.ctx.lines.site(node) });
      } else if (expression) {
        toWalk.push(expression);
      }
    }
    this.pushAll([...toWalk, body]);
  }

  private visitTry(node: SyntaxNode): void {
    const body = field(node, "body");
    const clauses = node.namedChildren.filter((c) => c !== body);
    const handlers = clauses.filter((c) => c.type === "except_clause" || c.type === "except_group_clause");
    if (body && handlers.some((h) => exceptionNames(h).some((n) => INTEGRITY_ERRORS.has(n)))) {
      this.regions.push({ kind: "try-integrity", span: span(body), site: this.ctx.lines.site(node) });
    }
    const missingHandlers = handlers.filter((h) => exceptionNames(h).some((n) => n === "DoesNotExist" || n === "ObjectDoesNotExist"));
    const afterBody = () => {
      if (!body || missingHandlers.length === 0) return;
      // try: X.objects.get(...) / except X.DoesNotExist: create — a hand-written get_or_create.
      const fetch = this.events.find(
        (e): e is FetchEvent => e.type === "fetch" && e.single && e.pos >= body.startIndex && e.pos < body.endIndex,
      );
      if (!fetch) return;
      const check: CheckEvent = {
        type: "check", pos: fetch.pos, site: fetch.site, kind: "exists", guard: "except", byName: false,
        scopes: missingHandlers.map((h) => span(h)), query: fetch.query,
      };
      this.events.push(check);
    };
    this.stack.push(...[...clauses].reverse().map((c) => ({ node: c })));
    this.stack.push({ after: afterBody });
    if (body) this.stack.push({ node: body });
  }

  private visitReturn(node: SyntaxNode): void {
    const raw = node.namedChildren[0];
    if (!raw) return;
    const value = unwrap(raw);
    const calleeName = value.type === "call" ? dottedName(field(value, "function") ?? value) : null;
    const factory = calleeName?.split(".").pop() ?? "";
    if (RESPONSE_FACTORIES.has(factory) || DENIAL_RESPONSES.has(factory)) {
      if (DENIAL_RESPONSES.has(factory) || /status\s*=\s*(403|404|status\.HTTP_40[34]\w*)/.test(value.text)) {
        this.facts.denies = true;
        this.pushChildren(node);
        return;
      }
      const before = this.events.length;
      const after = () => {
        const defs = new Set(this.closure(this.referencedDefs(value)));
        for (const event of this.events.slice(before)) if (event.type === "fetch" && event.def !== null) defs.add(event.def);
        const disclosed = [...defs].filter((id) => {
          const origin = this.defs[id]?.origin;
          return origin === "fetch" || origin === "queryset";
        });
        if (disclosed.length > 0) {
          this.events.push({ type: "disclose", pos: node.startIndex, site: this.ctx.lines.site(node), defs: disclosed.sort((a, b) => a - b) });
        }
      };
      this.stack.push({ after });
      this.pushChildren(node);
      return;
    }
    const evaluated = this.evaluate(value, null, null);
    if (evaluated.kind === "queryset" && evaluated.query.locked) this.facts.returnsLockedQuery = true;
    const before = this.events.length;
    if (evaluated.kind === "check") {
      this.noteReturnedChecks(evaluated.events);
    } else if (evaluated.kind === "call") {
      this.facts.returnCallees.push(evaluated.event.callee);
    } else if (evaluated.kind === "other") {
      this.analyseCondition(value, [], null);
      this.noteReturnedChecks(this.events.slice(before).filter((e): e is CheckEvent | CallEvent => e.type === "check" || e.type === "call"));
    }
  }

  private noteReturnedChecks(events: (CheckEvent | CallEvent)[]): void {
    for (const event of events) {
      if (event.type === "call") this.facts.returnCallees.push(event.callee);
      else if (event.kind !== "state" && event.kind !== "exists" && event.kind !== "staff") this.facts.returnsCheck ??= event.kind;
    }
  }

  private visitRaise(node: SyntaxNode): void {
    const raised = node.namedChildren[0];
    if (raised) {
      const target = raised.type === "call" ? field(raised, "function") : raised;
      const name = target ? (dottedName(target) ?? "").split(".").pop() ?? "" : "";
      if (DENIAL_EXCEPTIONS.has(name)) this.facts.denies = true;
    }
    this.pushChildren(node);
  }

  private visitAssignment(node: SyntaxNode): void {
    const left = field(node, "left");
    const right = field(node, "right");
    if (!left || !right) return this.pushChildren(node);
    if (left.type === "identifier") {
      this.assign(left.text, right);
      return;
    }
    if ((left.type === "pattern_list" || left.type === "tuple_pattern") && left.namedChildren[0]?.type === "identifier") {
      // obj, created = X.objects.get_or_create(...)
      const value = this.evaluate(right);
      const first = left.namedChildren[0];
      if (first) this.define(first.text, value.kind === "new" ? "new-instance" : "fetch", node.startIndex, [], valueQuery(value));
      return;
    }
    if (left.type === "attribute" && /^self\.\w+$/.test(left.text)) {
      // self.invoice = get_object_or_404(...): tracked like a local for the rest of the method.
      this.recordAttributeWrite(left, right);
      this.assign(left.text, right);
      return;
    }
    if (left.type === "subscript") {
      const container = field(left, "value");
      const index = field(left, "subscript");
      const target = container ? this.storeTarget(container) : null;
      if (target) {
        if (index) this.stack.push({ node: index });
        this.emitStore(node, target, target === "session" && index ? stringValue(index) ?? undefined : undefined, right, null);
        return;
      }
    }
    this.stack.push({ node: right });
    if (left.type === "attribute") this.recordAttributeWrite(left, right);
    else this.stack.push({ node: left });
  }

  /**
   * What a subscript assignment stores into, when it outlives the request: the session, a
   * module-level name (not a local), or a class attribute (`self.__class__._cache`, `cls._cache`).
   */
  private storeTarget(container: SyntaxNode): string | null {
    if (isRequestSession(container)) return "session";
    if (container.type === "identifier") return this.lookup(container.text) === null && !this.facts.params.includes(container.text) ? container.text : null;
    const name = dottedName(container);
    if (name && /^(self\.__class__|cls|type\(self\))\.\w+$/.test(name)) return `class:${name.split(".").pop()}`;
    if (name && this.site.className && name.startsWith(`${this.site.className.split(".").pop()}.`)) return `class:${name.split(".").pop()}`;
    return null;
  }

  /** `obj.field = value`: the field is mutable, on obj's model when it is known. */
  private recordAttributeWrite(left: SyntaxNode, value: SyntaxNode): void {
    const name = field(left, "attribute")?.text;
    const object = field(left, "object");
    if (!name || !object) return;
    const fieldName = normaliseField(name);
    this.mutate(this.modelOf(object), [fieldName]);
    // `if thread.category != category: thread.category = category` only sets what it compared.
    const id = object.type === "identifier" ? this.lookup(object.text) : null;
    if (id === null) return;
    const assigned = value.text.replace(/\s+/g, " ");
    for (const event of this.events) {
      if (event.type === "check" && event.subjectDef === id && event.field === fieldName && event.comparedTo === assigned) event.idempotent = true;
    }
  }

  private mutate(model: string | null, fields: Iterable<string>): void {
    for (const f of fields) this.mutations.add(`${model ?? "*"}.${normaliseField(f)}`);
  }

  /** The model class an expression's rows belong to, when the chain shows it; null otherwise. */
  private modelOf(expression: SyntaxNode): string | null {
    let node: SyntaxNode | null = unwrap(expression);
    while (node) {
      if (node.type === "identifier") {
        if (node.text === "self" && this.site.className) return this.site.className.split(".").pop() ?? null;
        const id = this.lookup(node.text);
        return id === null ? null : this.defs[id]?.query?.model ?? null;
      }
      if (node.type === "attribute") {
        const object = field(node, "object");
        if (object && MANAGER_ATTRS.has(field(node, "attribute")?.text ?? "")) return dottedName(object)?.split(".").pop() ?? null;
        // inv.account: a related object, whose model the chain does not show.
        if (object?.type === "identifier") return null;
        node = object;
        continue;
      }
      if (node.type === "call") {
        const fn = field(node, "function");
        node = fn?.type === "attribute" ? field(fn, "object") : null;
        continue;
      }
      return null;
    }
    return null;
  }

  private assign(name: string, rightRaw: SyntaxNode): void {
    const right = unwrap(rightRaw);
    const pos = rightRaw.startIndex;
    if (isRequestUser(right) || (right.type === "call" && /^(self\.)?request\.auser$/.test(field(right, "function")?.text ?? ""))) {
      this.define(name, "request-user", pos, []);
      return;
    }
    if (right.type === "attribute") {
      const root = rootIdentifier(right);
      const rootDef = root ? this.lookup(root.text) : null;
      // `request.user.profile` / `inv.account`: a related object loaded lazily, without a lock.
      if (this.isRequestUserDef(rootDef) || /^(self\.)?request\.user\.\w+$/.test(right.text)) {
        this.define(name, "fetch", pos, rootDef !== null ? [rootDef] : [], { model: null, source: right.text, filterFields: [], filterRefsUser: true, locked: false });
        return;
      }
    }
    const value = this.evaluate(right);
    switch (value.kind) {
      case "queryset":
        this.define(name, "queryset", pos, value.defs, value.query, value.builtPos);
        return;
      case "fetch": {
        const id = this.define(name, "fetch", pos, [], value.query);
        if (value.event) value.event.def = id;
        return;
      }
      case "check":
        this.define(name, "other", pos, []);
        this.checkVars.set(name, value.events);
        return;
      case "new":
        this.define(name, "new-instance", pos, this.referencedDefs(right), { model: value.model, source: value.model, filterFields: [], filterRefsUser: false, locked: false });
        return;
      case "call": {
        value.event.resultDef = this.define(name, "derived", pos, value.event.argDefs);
        this.checkVars.set(name, [value.event]);
        return;
      }
      default: {
        const from = this.referencedDefs(right);
        if (right.type === "identifier" && from.length === 1) {
          const source = this.defs[from[0]!]!;
          this.define(name, source.origin, pos, from, source.query);
        } else {
          this.define(name, from.length > 0 ? "derived" : "other", pos, from);
        }
      }
    }
  }

  private visitSubscript(node: SyntaxNode): void {
    this.evaluate(node);
  }

  private visitCall(node: SyntaxNode, scopes: Span[] | null, guard: GuardKind | null): void {
    this.evaluate(node, scopes, guard);
  }

  // ---- expressions ---------------------------------------------------------------------

  /**
   * Evaluates an expression: emits the events it causes (fetches, writes, checks, calls) and
   * queues its sub-expressions for the walk. `scopes`/`guard` are set when the value decides
   * a branch or the expression is a statement that may raise.
   */
  private evaluate(raw: SyntaxNode, scopes: Span[] | null = null, guard: GuardKind | null = null): Value {
    const node = unwrap(raw);
    if (node.type === "subscript") return this.evaluateSubscript(node);
    if (node.type === "identifier") {
      const id = this.lookup(node.text);
      const def = id === null ? null : this.defs[id];
      if (def?.origin === "queryset" && def.query) return { kind: "queryset", query: def.query, builtPos: def.pos, defs: [def.id] };
      if (def?.origin === "fetch" && def.query) return { kind: "fetch", event: null, query: def.query, single: true };
      return { kind: "other" };
    }
    if (node.type === "attribute") {
      const chain = this.ormBase(node);
      if (chain) return { kind: "queryset", query: chain.query, builtPos: node.startIndex, defs: chain.defs };
      this.stack.push({ node });
      return { kind: "other" };
    }
    if (node.type !== "call") {
      this.stack.push({ node });
      return { kind: "other" };
    }
    return this.evaluateCall(node, scopes, guard);
  }

  private evaluateSubscript(node: SyntaxNode): Value {
    const value = field(node, "value");
    const index = field(node, "subscript");
    if (!value) return { kind: "other" };
    const inner = this.evaluate(value);
    if (index) this.stack.push({ node: index });
    if (inner.kind !== "queryset") return { kind: "other" };
    if (index?.type === "slice") return inner;
    const event = this.emitFetch(node, inner.query, true, inner.builtPos);
    return { kind: "fetch", event, query: inner.query, single: true };
  }

  private evaluateCall(node: SyntaxNode, scopes: Span[] | null, guard: GuardKind | null): Value {
    const fn = field(node, "function");
    const args = field(node, "arguments");
    if (!fn) return { kind: "other" };
    const mutated = mutatedByCall(node);
    if (mutated.length > 0) {
      const target = fn.type === "attribute" ? field(fn, "object") : positionalArguments(args)[0];
      this.mutate(target ? this.modelOf(target) : null, mutated);
    }

    // sync_to_async(obj.save)() / sync_to_async(helper)(...)
    if (fn.type === "call") {
      const wrapper = dottedName(field(fn, "function") ?? fn) ?? "";
      const wrapped = positionalArguments(field(fn, "arguments"))[0];
      if (/(^|\.)(sync_to_async|database_sync_to_async)$/.test(wrapper) && wrapped) {
        this.pushArgs(args);
        return this.evaluateCallee(wrapped, node, args, scopes, guard);
      }
      this.stack.push({ node: fn });
      this.pushArgs(args);
      return { kind: "other" };
    }
    return this.evaluateCallee(fn, node, args, scopes, guard);
  }

  /** Classifies a call by what is called (`fn`), with the arguments of `call`. */
  private evaluateCallee(fn: SyntaxNode, call: SyntaxNode, args: SyntaxNode | null, scopes: Span[] | null, guard: GuardKind | null): Value {
    const name = fn.type === "attribute" ? field(fn, "attribute")?.text ?? "" : fn.type === "identifier" ? fn.text : "";
    const receiver = fn.type === "attribute" ? field(fn, "object") : null;

    if (fn.type === "identifier") {
      if (FETCH_FUNCTIONS.has(name)) return this.evaluateFetchFunction(call, args, name);
      if (name === "len" || name === "list" || name === "bool") {
        const arg = positionalArguments(args)[0];
        const inner = arg ? this.evaluate(arg) : { kind: "other" as const };
        if (inner.kind === "queryset") {
          if (name === "list") {
            const event = this.emitFetch(call, inner.query, false, inner.builtPos);
            return { kind: "fetch", event, query: inner.query, single: false };
          }
          return this.existenceCheck(call, inner.query, scopes, guard);
        }
        return { kind: "other" };
      }
      if (/^[A-Z]/.test(name) && !RESPONSE_FACTORIES.has(name) && !TRIVIAL_CALLS.has(name)) {
        this.pushArgs(args);
        if (/(Serializer|Form|FormSet|Error|Exception|Response)$/.test(name)) return { kind: "other" };
        return { kind: "new", model: name };
      }
    }

    if (receiver) {
      if (name === "pop" && /\.__dict__$/.test(receiver.text) && this.clearsPermCache(positionalArguments(args)[0])) {
        this.permCacheCleared(call, this.chainDef(receiver));
        this.pushArgs(args);
        return { kind: "other" };
      }
      // ORM chains: Model.objects…, queryset variables, related managers.
      const base = this.ormBase(receiver);
      if (base) return this.evaluateOrmMethod(call, name, args, base.query, base.defs, base.builtPos, scopes, guard);

      const rootDef = receiver.type === "identifier" ? this.lookup(receiver.text) : receiver.type === "attribute" ? this.chainDef(receiver) : null;
      const receiverIsUser = isRequestUser(receiver) || (receiver.type === "identifier" && this.isRequestUserDef(rootDef));

      if ((name === "save" || name === "asave") && receiver.type === "call" && receiver.childForFieldName("function")?.type === "identifier" && /^[A-Z]/.test(receiver.childForFieldName("function")!.text)) {
        // Model(...).save() on one line: a create.
        const model = receiver.childForFieldName("function")!.text;
        this.stack.push({ node: receiver });
        this.pushArgs(args);
        const write = this.emitWrite(call, "create", this.referencedDefs(receiver), null, { model, source: model, filterFields: [], filterRefsUser: false, locked: false });
        write.event.lookupFields = [...keywordArguments(receiver.childForFieldName("arguments")).keys()].map(normaliseField);
        return write;
      }
      // form.save(commit=False) builds an instance without touching the database.
      if ((name === "save" || name === "asave") && keywordArguments(args).get("commit")?.text === "False") {
        this.pushArgs(args);
        return { kind: "other" };
      }
      if (name in INSTANCE_WRITES && rootDef !== null) {
        this.pushArgs(args);
        return this.instanceWrite(call, rootDef, receiver, INSTANCE_WRITES[name]!);
      }
      if (name === "refresh_from_db" || name === "arefresh_from_db") {
        if (receiverIsUser || isRequestUser(receiver)) {
          this.events.push({ type: "refresh", pos: call.startIndex, site: this.ctx.lines.site(call), def: rootDef ?? -1, locked: false });
        } else if (rootDef !== null && receiver.type === "identifier") {
          const fromQueryset = keywordArguments(args).get("from_queryset");
          const locked = fromQueryset ? /select_for_update/.test(fromQueryset.text) : false;
          this.events.push({ type: "refresh", pos: call.startIndex, site: this.ctx.lines.site(call), def: rootDef, locked });
        }
        this.pushArgs(args);
        return { kind: "other" };
      }
      if (M2M_WRITES.has(name) && rootDef !== null && receiver.type === "attribute") {
        this.pushArgs(args);
        const relation: QueryShape = { model: null, source: receiver.text, filterFields: [], filterRefsUser: false, locked: false };
        return this.emitWrite(call, "m2m", [rootDef, ...this.referencedDefs(args)], rootDef, relation);
      }
      if (ENQUEUE_METHODS.has(name)) {
        this.pushArgs(args);
        const write = this.emitWrite(call, "enqueue", this.closure(this.referencedDefs(args)), null, null);
        const task = dottedName(receiver);
        if (task) write.event.task = task;
        return write;
      }
      if (isRequestSession(receiver) && (name === "get" || name === "pop")) {
        const key = positionalArguments(args)[0];
        const keyText = key ? stringValue(key) : null;
        this.pushArgs(args);
        if (keyText !== null && (scopes !== null || guard === null)) return this.emitCheck(call, "session", scopes, guard, { byName: false, key: keyText });
        return { kind: "other" };
      }
      if (name === "set" && /(^|\.)(cache|caches\[[^\]]*\])$/.test(receiver.text)) {
        const [, value] = positionalArguments(args);
        this.stack.push({ node: receiver });
        return this.emitStore(call, "cache", undefined, value ?? null, args);
      }
      if (receiverIsUser && USER_FLAG_ATTRS.has(name)) return { kind: "other" };
      const kindByName = checkKindByName(name, guard === "raise-call");
      // has_perm() and friends answer a boolean: as a bare statement they guard nothing.
      if (kindByName && guard === "raise-call" && isKnownCheckApi(name) && !/^check_/.test(name)) scopes = null;
      if (kindByName && (scopes !== null || guard === null || guard === "raise-call")) {
        const onDefs = rootDef !== null ? [rootDef] : [];
        this.pushArgs(args);
        const known = isKnownCheckApi(name) || receiverIsUser && /group|role|member/.test(name);
        if (fn.text.startsWith("self.") && !known) return this.emitCall(call, `self.${name}`, args, scopes, guard);
        return this.emitCheck(call, kindByName, scopes, guard, {
          onDefs: [...onDefs, ...this.argumentDefs(args)], byName: !known, receiver: receiver.text.replace(/^self\.request\./, "request."),
        });
      }
      const rootName = (dottedName(fn) ?? "").split(".")[0] ?? "";
      if (SLOW_ROOTS.has(this.ctx.imports[rootName]?.split(".")[0] ?? rootName) || SLOW_FUNCTIONS.has(name)) {
        this.events.push({ type: "slow", pos: call.startIndex, site: this.ctx.lines.site(call), what: fn.text });
        this.pushArgs(args);
        return { kind: "other" };
      }
      if (name === "check_password" || name === "acheck_password") {
        this.pushArgs(args);
        return this.emitCall(call, dottedName(fn) ?? name, args, scopes, guard);
      }
      // A method of a fetched object (`inv.is_payable()`) reads its state.
      if (rootDef !== null && scopes !== null && guard !== "raise-call" && receiver.type === "identifier" && this.defs[rootDef]?.origin === "fetch") {
        this.pushArgs(args);
        return this.emitCheck(call, "state", scopes, guard, { subjectDef: rootDef, field: null, byName: false });
      }
      if (name === "save" || name === "asave") {
        this.pushArgs(args);
        return this.emitWrite(call, "serializer-save", [], null, null);
      }
      if (fn.text.startsWith("self.") && receiver.type === "identifier") {
        this.pushArgs(args);
        return this.emitCall(call, `self.${name}`, args, scopes, guard);
      }
      this.stack.push({ node: receiver });
      this.pushArgs(args);
      if (TRIVIAL_CALLS.has(name) || /^(is_valid|get|items|keys|values|append|extend|format|join|split|strip|lower|upper|startswith|endswith|encode|decode)$/.test(name)) return { kind: "other" };
      return this.emitCall(call, dottedName(fn) ?? name, args, scopes, guard);
    }

    if (fn.type === "identifier") {
      if (name === "delattr" && this.clearsPermCache(positionalArguments(args)[1])) {
        const target = positionalArguments(args)[0];
        this.permCacheCleared(call, target ? (target.type === "identifier" ? this.lookup(target.text) : this.chainDef(target)) : null);
        this.pushArgs(args);
        return { kind: "other" };
      }
      if (SLOW_FUNCTIONS.has(name)) {
        this.events.push({ type: "slow", pos: call.startIndex, site: this.ctx.lines.site(call), what: name });
        this.pushArgs(args);
        return { kind: "other" };
      }
      this.pushArgs(args);
      if (TRIVIAL_CALLS.has(name) || RESPONSE_FACTORIES.has(name)) return { kind: "other" };
      return this.emitCall(call, name, args, scopes, guard);
    }
    this.stack.push({ node: fn });
    this.pushArgs(args);
    return { kind: "other" };
  }

  private evaluateFetchFunction(call: SyntaxNode, args: SyntaxNode | null, name: string): Value {
    const [first, ...rest] = positionalArguments(args);
    let query: QueryShape = { model: null, source: "?", filterFields: [], filterRefsUser: false, locked: false };
    let builtPos = call.startIndex;
    if (first) {
      const inner = this.evaluate(first);
      if (inner.kind === "queryset") {
        query = inner.query;
        builtPos = inner.builtPos;
      } else {
        const model = dottedName(first)?.split(".").pop() ?? null;
        query = { ...query, model, source: model ?? first.text };
      }
    }
    query = this.refine(query, args);
    for (const arg of rest) this.stack.push({ node: arg });
    const single = !name.includes("list");
    const event = this.emitFetch(call, query, single, builtPos);
    return { kind: "fetch", event, query, single };
  }

  /** The ORM meaning of `receiver` when it denotes a queryset or manager, else null. */
  private ormBase(receiver: SyntaxNode): { query: QueryShape; defs: number[]; builtPos: number } | null {
    // Walk down a chain of queryset builders iteratively (chains can be thousands long), then
    // fold them over the chain's root from the inside out.
    const builders: { method: string; args: SyntaxNode | null }[] = [];
    const visited: number[] = [];
    let node = unwrap(receiver);
    let root: { query: QueryShape; defs: number[]; builtPos: number } | null = null;
    let throughCustom = false;
    for (;;) {
      if (this.notOrm.has(node.id)) break;
      if (node.type !== "call") {
        root = this.ormRoot(node);
        break;
      }
      visited.push(node.id);
      const fn = field(node, "function");
      if (!fn || fn.type !== "attribute") break;
      const method = field(fn, "attribute")?.text ?? "";
      const inner = field(fn, "object");
      if (!inner) break;
      if (method === "get_queryset" && /^(self|super\(\))$/.test(inner.text)) {
        root = { query: { model: null, source: "self.get_queryset()", filterFields: [], filterRefsUser: false, locked: false }, defs: [], builtPos: node.startIndex };
        break;
      }
      // Custom manager/queryset methods (`Invoice.objects.payable()`) return querysets too, on a
      // chain rooted at a model's manager: known once the root is reached.
      const custom = !QUERYSET_BUILDERS.has(method);
      if (custom && !mayBeCustomQuerysetMethod(method)) break;
      throughCustom ||= custom;
      builders.push({ method, args: field(node, "arguments") });
      node = unwrap(inner);
    }
    if (root && throughCustom && !modelRooted(root.query)) root = null;
    if (!root) {
      for (const id of visited) this.notOrm.add(id);
      return null;
    }
    // One pass over every builder's arguments: folding them one by one copies the filter list
    // at each step, which is quadratic in the chain's length.
    const filterArgs: SyntaxNode[] = [];
    const defs = new Set(root.defs);
    let locked = root.query.locked;
    const custom = [...(root.query.custom ?? [])];
    for (let i = builders.length - 1; i >= 0; i--) {
      const { method, args } = builders[i]!;
      this.pushArgs(args);
      if (!QUERYSET_BUILDERS.has(method)) custom.push(method);
      if (method === "select_for_update") locked = true;
      else if (args) filterArgs.push(args);
      // filter(pk=inv.pk): the queryset denotes rows derived from `inv`.
      for (const id of this.referencedDefs(args)) defs.add(id);
    }
    const query: QueryShape = { ...this.refine(root.query, ...filterArgs), locked };
    if (custom.length > 0) query.custom = custom;
    return { query, defs: [...defs], builtPos: root.builtPos };
  }

  /** The start of an ORM chain: `Model.objects`, a queryset variable, a related manager. */
  private ormRoot(node: SyntaxNode): { query: QueryShape; defs: number[]; builtPos: number } | null {
    // Inside a custom Manager or QuerySet, `self` is the queryset (`return self.select_for_update()`).
    if (node.type === "identifier" && node.text === "self" && this.site.classBases.some((b) => /(Manager|QuerySet)$/.test(b))) {
      return { query: { model: null, source: "self", filterFields: [], filterRefsUser: false, locked: false }, defs: [], builtPos: node.startIndex };
    }
    if (node.type === "identifier") {
      const id = this.lookup(node.text);
      const def = id === null ? null : this.defs[id];
      if (def?.origin === "queryset" && def.query) return { query: def.query, defs: [def.id], builtPos: def.pos };
      return null;
    }
    if (node.type !== "attribute") return null;
    const attr = field(node, "attribute")?.text ?? "";
    const object = field(node, "object");
    if (!object) return null;
    if (MANAGER_ATTRS.has(attr)) {
      const objectName = dottedName(object);
      if (objectName === "self.model" || objectName === "self.queryset.model") {
        return { query: { model: null, source: objectName, filterFields: [], filterRefsUser: false, locked: false }, defs: [], builtPos: node.startIndex };
      }
      if (objectName) {
        const model = objectName.split(".").pop()!;
        return { query: { model, source: model, filterFields: [], filterRefsUser: false, locked: false }, defs: [], builtPos: node.startIndex };
      }
      if (object.type === "call" && /get_user_model$/.test(dottedName(field(object, "function") ?? object) ?? "")) {
        return { query: { model: "User", source: "User", filterFields: [], filterRefsUser: false, locked: false }, defs: [], builtPos: node.startIndex };
      }
      return null;
    }
    if (node.text === "self.queryset") {
      return { query: { model: null, source: "self.queryset", filterFields: [], filterRefsUser: false, locked: false }, defs: [], builtPos: node.startIndex };
    }
    // Related managers: request.user.invoices, inv.items, user.groups
    const root = rootIdentifier(node);
    if (!root || object.type === "call") return null;
    const rootDef = this.lookup(root.text);
    const rootOrigin = rootDef === null ? null : this.defs[rootDef]?.origin;
    const fromUser = isRequestUser(object) || rootOrigin === "request-user";
    if (fromUser || rootOrigin === "fetch" || rootOrigin === "new-instance") {
      return {
        query: { model: null, source: node.text.replace(/^self\.request\./, "request."), filterFields: [], filterRefsUser: fromUser, locked: false },
        defs: rootDef !== null ? [rootDef] : [],
        builtPos: node.startIndex,
      };
    }
    return null;
  }

  private evaluateOrmMethod(
    call: SyntaxNode, method: string, args: SyntaxNode | null, baseQuery: QueryShape, baseDefs: number[], builtPos: number,
    scopes: Span[] | null, guard: GuardKind | null,
  ): Value {
    this.pushArgs(args);
    if (method === "select_for_update") return { kind: "queryset", query: { ...baseQuery, locked: true }, builtPos, defs: baseDefs };
    if (QUERYSET_BUILDERS.has(method)) return { kind: "queryset", query: this.refine(baseQuery, args), builtPos, defs: [...baseDefs, ...this.referencedDefs(args)] };
    if (M2M_WRITES.has(method) && (baseDefs.length > 0 || baseQuery.filterRefsUser)) {
      // inv.items.add(x): writes the relation of `inv`.
      return this.emitWrite(call, "m2m", [...baseDefs, ...this.referencedDefs(args)], baseDefs[0] ?? null, baseQuery);
    }
    // update()/create() keywords are values, not filters; only lookups narrow the rows.
    const query = method in QUERYSET_WRITES && QUERYSET_WRITES[method] !== "get_or_create" ? baseQuery : this.refine(baseQuery, args);
    if (SINGLE_FETCHES.has(method)) {
      const event = this.emitFetch(call, query, true, builtPos);
      return { kind: "fetch", event, query, single: true };
    }
    if (EXISTENCE_METHODS.has(method)) return this.existenceCheck(call, query, scopes, guard);
    const op = QUERYSET_WRITES[method];
    if (op) {
      const keywords = keywordArguments(args);
      const write = this.emitWrite(call, op, this.closure([...baseDefs, ...this.referencedDefs(args)]), null, query);
      if (op === "update") {
        for (const [key, value] of keywords) if (/\bF\(/.test(value.text)) write.event.fFields.push(normaliseField(key));
      }
      // Lookup keywords of get_or_create, or the fields a create() sets (a unique one makes the database decide).
      if (op === "get_or_create" || op === "create") write.event.lookupFields = [...keywords.keys()].filter((k) => k !== "defaults" && k !== "create_defaults").map(normaliseField);
      return write;
    }
    if (method === "in_bulk" || method === "iterator") {
      const event = this.emitFetch(call, query, false, builtPos);
      return { kind: "fetch", event, query, single: false };
    }
    if (MANAGER_CREATES.has(method)) return this.emitWrite(call, "create", this.referencedDefs(args), null, baseQuery);
    // Any other method of a manager or queryset is taken to be a custom one returning a queryset.
    // (Only on `Model.objects` chains: a related object's own methods are not querysets.)
    if (mayBeCustomQuerysetMethod(method) && modelRooted(baseQuery)) {
      return { kind: "queryset", query: { ...query, custom: [...(query.custom ?? []), method] }, builtPos, defs: [...baseDefs, ...this.referencedDefs(args)] };
    }
    return { kind: "other" };
  }

  /** Adds the filter keywords of a filter()/get()/exists() call to a query shape. */
  private refine(query: QueryShape, ...argLists: (SyntaxNode | null)[]): QueryShape {
    const lists = argLists.filter((a): a is SyntaxNode => a !== null);
    if (lists.length === 0) return query;
    const fields = new Set(query.filterFields);
    let refsUser = query.filterRefsUser;
    const stack: SyntaxNode[] = [...lists];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.type === "keyword_argument") {
        const name = field(node, "name")?.text;
        if (name && name !== "defaults" && name !== "create_defaults") fields.add(normaliseField(name));
        const value = field(node, "value");
        if (value) stack.push(value);
        continue;
      }
      if (node.type === "identifier" || node.type === "attribute") {
        if (this.mentionsUser(node)) refsUser = true;
        if (node.type === "identifier") continue;
      }
      for (const child of node.namedChildren) stack.push(child);
    }
    return { ...query, filterFields: [...fields].sort(), filterRefsUser: refsUser };
  }

  private mentionsUser(node: SyntaxNode): boolean {
    if (isRequestUser(node) || /^(self\.)?request\.user\b/.test(node.text)) return true;
    const root = node.type === "identifier" ? node : rootIdentifier(node);
    if (!root) return false;
    return this.isRequestUserDef(this.lookup(root.text));
  }

  /** The variable holds `request.user` (or a parameter named `user`/`request_user`). */
  private isRequestUserDef(id: number | null): boolean {
    return id !== null && this.defs[id]?.origin === "request-user";
  }

  /** `del user._perm_cache` and its spellings: ModelBackend recomputes permissions on the next has_perm(). */
  private permCacheCleared(at: SyntaxNode, def: number | null): void {
    this.events.push({ type: "refresh", pos: at.startIndex, site: this.ctx.lines.site(at), def: def ?? -1, locked: false, permCache: true });
  }

  private existenceCheck(call: SyntaxNode, query: QueryShape, scopes: Span[] | null, guard: GuardKind | null): Value {
    // user.groups.filter(...).exists() and membership tables queried for the user are authorization.
    let kind: CheckKind = "exists";
    if (/\.groups$|^groups$/.test(query.source) && query.filterRefsUser) kind = "group";
    else if (/\.(user_permissions)$/.test(query.source)) kind = "perm";
    else if (query.model && query.filterRefsUser && /member|role|permission|grant|access|team|staff|admin/i.test(query.model)) kind = "membership";
    return this.emitCheck(call, kind, scopes, guard, { query, byName: false });
  }

  private instanceWrite(call: SyntaxNode, rootDef: number, receiver: SyntaxNode, op: "save" | "delete"): Value {
    const def = this.defs[rootDef]!;
    if (receiver.type === "identifier" && def.origin === "new-instance" && op === "save") {
      return this.emitWrite(call, "create", this.closure(def.from), null, def.query ?? null);
    }
    if (receiver.type === "identifier" && def.origin === "derived") {
      // serializer.save() / form.save(): writes the instance the serializer was built from.
      return this.emitWrite(call, op === "save" ? "serializer-save" : "delete", this.closure([rootDef]), null, null);
    }
    return this.emitWrite(call, op, [rootDef], rootDef, null);
  }

  // ---- conditions ------------------------------------------------------------------------

  /**
   * Records the checks a condition makes: calls (permission APIs, helpers, exists()),
   * reads of a fetched object's fields (state checks), and variables holding earlier checks.
   */
  private analyseCondition(condition: SyntaxNode, scopes: Span[], guard: GuardKind | null): void {
    const seenStates = new Set<string>();
    const stack: SyntaxNode[] = [condition];
    while (stack.length > 0) {
      const node = unwrap(stack.pop()!);
      switch (node.type) {
        case "comparison_operator": {
          const operands = node.namedChildren;
          const operators = node.children.filter((c) => !c.isNamed).map((c) => c.type);
          if (operands.length === 2 && operators.length === 1 && (operators[0] === "!=" || operators[0] === "==")) {
            const [a, b] = operands as [SyntaxNode, SyntaxNode];
            const subject = this.stateSubject(a) ? a : this.stateSubject(b) ? b : null;
            if (subject) {
              const other = subject === a ? b : a;
              const event = this.stateCheck(subject, scopes, guard, seenStates);
              // "Set it if it differs" from a computed value: recorded so that assigning exactly
              // that value is recognised as order-independent. A literal is a state transition.
              const literal = ["string", "integer", "float", "true", "false", "none"].includes(other.type);
              if (event && operators[0] === "!=" && !literal) event.comparedTo = other.text.replace(/\s+/g, " ");
              stack.push(other);
              continue;
            }
          }
          if (operands.length === 2 && operators[0] === "in" && isRequestSession(operands[1]!)) {
            const key = stringValue(operands[0]!);
            if (key !== null) {
              this.emitCheck(node, "session", scopes, guard, { byName: false, key });
              continue;
            }
          }
          for (const child of operands) stack.push(child);
          continue;
        }
        case "call": {
          const before = this.stack.length;
          this.evaluate(node, scopes, guard);
          // Sub-expressions of the call are conditions too (`not can(user, inv.owner)`).
          const queued = this.stack.splice(before).map((item) => ("node" in item ? item.node : null));
          for (const child of queued) if (child) stack.push(child);
          continue;
        }
        case "attribute": {
          if (this.stateSubject(node)) {
            this.stateCheck(node, scopes, guard, seenStates);
            continue;
          }
          const userKind = this.userAttributeKind(node);
          if (userKind) {
            this.emitCheck(node, userKind, scopes, guard, { byName: false });
            continue;
          }
          const session = sessionKey(node);
          if (session !== null) {
            this.emitCheck(node, "session", scopes, guard, { byName: false, key: session });
            continue;
          }
          // The whole chain was judged from its outermost link: continue below it (long chains stay linear).
          let below: SyntaxNode | null = field(node, "object");
          while (below && below.type === "attribute") below = field(below, "object");
          if (below) stack.push(below);
          continue;
        }
        case "identifier": {
          const held = this.checkVars.get(node.text);
          if (held) for (const event of held) event.scopes.push(...scopes);
          const id = this.lookup(node.text);
          const def = id === null ? null : this.defs[id];
          if (def?.origin === "queryset" && def.query) this.existenceCheck(node, def.query, scopes, guard);
          continue;
        }
        case "subscript": {
          const session = sessionKey(node);
          if (session !== null) {
            this.emitCheck(node, "session", scopes, guard, { byName: false, key: session });
            continue;
          }
          for (const child of node.namedChildren) stack.push(child);
          continue;
        }
        case "lambda":
          continue;
        default:
          for (const child of node.namedChildren) stack.push(child);
      }
    }
  }

  /**
   * In-memory attributes of the request user that carry an authorization decision:
   * `is_staff`/`is_superuser` ("staff"), role-like fields and `profile.*` ("user-attr").
   */
  private userAttributeKind(node: SyntaxNode): "staff" | "user-attr" | null {
    // The attribute names after the user root, innermost last: request.user.profile.role → [role, profile].
    const names: string[] = [];
    let current: SyntaxNode | null = node;
    while (current && current.type === "attribute" && !isRequestUser(current)) {
      names.push(field(current, "attribute")?.text ?? "");
      current = field(current, "object");
    }
    if (!current || names.length === 0) return null;
    const isUser = isRequestUser(current) || (current.type === "identifier" && this.isRequestUserDef(this.lookup(current.text)));
    if (!isUser) return null;
    const first = names[names.length - 1]!;
    if (USER_FLAG_ATTRS.has(first)) return "staff";
    if (first === "profile" && names.length > 1) return "user-attr";
    if (USER_ROLE_ATTRS.test(first) && !NOT_ROLE_ATTRS.has(first)) return "user-attr";
    return null;
  }

  /** An attribute read on a fetched object: `inv.status`, `inv.owner.id`. */
  private stateSubject(node: SyntaxNode): boolean {
    if (node.type !== "attribute") return false;
    const id = this.chainDef(node);
    // `self.inv` itself is the object, not a field of it.
    return id !== null && this.defs[id]?.origin === "fetch" && this.defs[id]!.name !== node.text;
  }

  private stateCheck(node: SyntaxNode, scopes: Span[], guard: GuardKind | null, seen: Set<string>): CheckEvent | null {
    const id = this.chainDef(node)!;
    const name = this.defs[id]!.name;
    // The field read right after the object: `status` in inv.status or self.inv.status.code.
    const first = name.startsWith("self.") ? firstAttribute(node, 2) : firstAttribute(node);
    const key = `${id}:${first}`;
    if (!first || seen.has(key)) return null;
    seen.add(key);
    const value = this.emitCheck(node, "state", scopes, guard, { subjectDef: id, field: normaliseField(first), byName: false });
    return value.kind === "check" ? (value.events[0] as CheckEvent) : null;
  }

  // ---- decorators ------------------------------------------------------------------------

  private applyDecorators(body: SyntaxNode): void {
    const fnSpan = span(this.site.node);
    for (const decorator of this.site.decorators) {
      const expression = decorator.namedChildren[0];
      if (!expression) continue;
      if (this.isTransaction(expression)) {
        this.regions.push({ kind: "atomic", span: fnSpan, site: this.ctx.lines.site(decorator) });
        continue;
      }
      const target = expression.type === "call" && /method_decorator$/.test(dottedName(field(expression, "function") ?? expression) ?? "")
        ? positionalArguments(field(expression, "arguments"))[0] ?? expression
        : expression;
      const callee = target.type === "call" ? field(target, "function") : target;
      const name = callee ? dottedName(callee) : null;
      if (!name) continue;
      let kind = decoratorCheckKind(name);
      if (kind === "helper" && target.type === "call") {
        // user_passes_test(lambda u: u.is_staff) decides on in-memory flags only.
        const test = positionalArguments(field(target, "arguments"))[0];
        if (test?.type === "lambda" && !/\.(groups|has_perm|has_perms|profile|role)\b/.test(test.text) && /is_staff|is_superuser|is_active|is_authenticated/.test(test.text)) kind = "staff";
      }
      if (kind) {
        const check: CheckEvent = {
          type: "check", pos: decorator.startIndex, site: this.ctx.lines.site(decorator), kind,
          scopes: [[body.startIndex, fnSpan[1]]], guard: "decorator", byName: false,
        };
        this.events.push(check);
      }
    }
  }

  private isTransaction(expression: SyntaxNode): boolean {
    const callee = expression.type === "call" ? field(expression, "function") : expression;
    const name = callee ? dottedName(callee) : null;
    if (!name) return false;
    const [head, ...rest] = name.split(".");
    const resolved = [this.ctx.imports[head!] ?? head, ...rest].join(".");
    if (this.ctx.transactionNames.has(resolved) || this.ctx.transactionNames.has(name)) return true;
    return resolved === "django.db.transaction.atomic" || name === "transaction.atomic" || resolved.endsWith("transaction.atomic");
  }

  // ---- events and definitions -------------------------------------------------------------

  private emitFetch(node: SyntaxNode, query: QueryShape, single: boolean, builtPos: number): FetchEvent {
    const event: FetchEvent = { type: "fetch", pos: node.startIndex, site: this.ctx.lines.site(node), def: null, query, single, builtPos };
    this.events.push(event);
    return event;
  }

  private emitWrite(node: SyntaxNode, op: WriteOp, defs: number[], targetDef: number | null, query: QueryShape | null): { kind: "other"; event: WriteEvent } {
    const event: WriteEvent = {
      type: "write", pos: node.startIndex, site: this.ctx.lines.site(node), op, defs: [...new Set(defs)].sort((a, b) => a - b),
      targetDef, query, fFields: [], lookupFields: [],
    };
    this.events.push(event);
    return { kind: "other", event };
  }

  private emitCheck(
    node: SyntaxNode, kind: CheckKind, scopes: Span[] | null, guard: GuardKind | null,
    extra: { subjectDef?: number; field?: string | null; onDefs?: number[]; query?: QueryShape; byName: boolean; receiver?: string; key?: string },
  ): Value {
    const event: CheckEvent = {
      type: "check", pos: node.startIndex, site: this.ctx.lines.site(node), kind, scopes: scopes ? [...scopes] : [],
      guard: guard ?? "if", ...extra,
    };
    this.events.push(event);
    return { kind: "check", events: [event] };
  }

  /** Records a store; the value is evaluated here so a check inside it is seen once. */
  private emitStore(node: SyntaxNode, target: string, key: string | undefined, value: SyntaxNode | null, rest: SyntaxNode | null): Value {
    let valueCheck: CheckKind | null = null;
    let valueCallee: string | null = null;
    if (value) {
      const held = value.type === "identifier" ? this.checkVars.get(value.text) : undefined;
      const evaluated = held ? { kind: "check" as const, events: held } : this.evaluate(value);
      const events = evaluated.kind === "check" ? evaluated.events : evaluated.kind === "call" ? [evaluated.event] : [];
      for (const event of events) {
        if (event.type === "check") valueCheck ??= event.kind;
        else valueCallee ??= event.callee;
      }
    }
    if (rest && !value) this.pushArgs(rest);
    const event: StoreEvent = { type: "store", pos: node.startIndex, site: this.ctx.lines.site(node), target, valueCheck, valueCallee };
    if (key !== undefined) event.key = key;
    this.events.push(event);
    return { kind: "other" };
  }

  private emitCall(call: SyntaxNode, callee: string, args: SyntaxNode | null, scopes: Span[] | null, guard: GuardKind | null): Value {
    const event: CallEvent = {
      type: "call", pos: call.startIndex, site: this.ctx.lines.site(call), callee, scopes: scopes ? [...scopes] : [],
      guard, argDefs: this.argumentDefs(args), resultDef: null,
    };
    this.events.push(event);
    return { kind: "call", event };
  }

  private pushArgs(args: SyntaxNode | null): void {
    if (args) this.stack.push({ node: args });
  }

  private addRegion(kind: "loop", node: SyntaxNode): void {
    this.regions.push({ kind, span: span(node), site: this.ctx.lines.site(node) });
  }

  private define(name: string, origin: VariableDef["origin"], pos: number, from: number[], query?: QueryShape, defPos?: number): number {
    const id = this.defs.length;
    const def: VariableDef = { id, name, pos: defPos ?? pos, origin, from: [...new Set(from)] };
    if (query) def.query = query;
    this.defs.push(def);
    this.current.set(name, id);
    this.checkVars.delete(name);
    return id;
  }

  private lookup(name: string): number | null {
    return this.current.get(name) ?? null;
  }

  /** The function names ModelBackend's cache attributes, so delattr()/__dict__.pop() there clears them. */
  private clearsPermCache(attribute?: SyntaxNode): boolean {
    this.permCacheNamed ??= /_(user_|group_)?perm_cache\b/.test(this.site.node.text);
    // A computed attribute name (`for attr in CACHES: delattr(user, attr)`) is taken as the caches.
    return this.permCacheNamed || (attribute !== undefined && attribute.type !== "string");
  }

  /** The definition an attribute chain starts from: `inv` for `inv.owner.id`, `self.inv` when tracked. */
  private chainDef(node: SyntaxNode): number | null {
    let current: SyntaxNode | null = node;
    while (current && current.type === "attribute") {
      const object = field(current, "object");
      if (object?.type === "identifier" && object.text === "self") {
        const id = this.lookup(current.text);
        if (id !== null) return id;
      }
      current = object;
    }
    return current && current.type === "identifier" ? this.lookup(current.text) : null;
  }

  /** Definitions named by identifiers anywhere inside `node`. */
  private referencedDefs(node: SyntaxNode | null): number[] {
    if (!node) return [];
    const out = new Set<number>();
    const stack: SyntaxNode[] = [node];
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (current.type === "identifier") {
        const id = this.lookup(current.text);
        if (id !== null) out.add(id);
        continue;
      }
      if (current.type === "keyword_argument") {
        const value = field(current, "value");
        if (value) stack.push(value);
        continue;
      }
      if (current.type === "attribute") {
        const object = field(current, "object");
        if (object) stack.push(object);
        continue;
      }
      if (current.type === "lambda") continue;
      for (const child of current.namedChildren) stack.push(child);
    }
    return [...out].sort((a, b) => a - b);
  }

  /**
   * Definitions passed directly as arguments (`f(inv, user=request.user, obj.pk)`). Shallow on
   * purpose: nested calls are their own events, and a deep walk per call is quadratic in nesting.
   */
  private argumentDefs(args: SyntaxNode | null): number[] {
    const out = new Set<number>();
    for (const arg of args ? args.namedChildren : []) {
      const value = unwrap(arg.type === "keyword_argument" ? field(arg, "value") ?? arg : arg);
      const root = value.type === "identifier" ? value : value.type === "attribute" ? rootIdentifier(value) : null;
      const id = root ? this.lookup(root.text) : null;
      if (id !== null) out.add(id);
    }
    return [...out].sort((a, b) => a - b);
  }

  /** A definition and everything it was computed from. */
  private closure(ids: number[]): number[] {
    const out = new Set<number>();
    const stack = [...ids];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (out.has(id)) continue;
      out.add(id);
      for (const from of this.defs[id]?.from ?? []) stack.push(from);
    }
    return [...out].sort((a, b) => a - b);
  }
}

/** Manager methods that create a row (`User.objects.create_user(...)`). */
const MANAGER_CREATES = new Set(["create_user", "create_superuser", "acreate_user", "acreate_superuser"]);
/** Queryset methods that return something other than a queryset. */
const NOT_QUERYSETS = new Set(["aggregate", "aaggregate", "explain", "aexplain", "raw", "contains", "acontains", "as_manager", "get_prefetch_queryset"]);

/**
 * A method Django's QuerySet does not define to return something else, and not a private one:
 * on a chain rooted at a model's manager (`modelRooted`), a custom method returning a queryset.
 * The one test for both the middle of a chain and its last call.
 */
function mayBeCustomQuerysetMethod(method: string): boolean {
  if (SINGLE_FETCHES.has(method) || EXISTENCE_METHODS.has(method) || method in QUERYSET_WRITES || MANAGER_CREATES.has(method) || NOT_QUERYSETS.has(method)) return false;
  return method !== "in_bulk" && !method.startsWith("_");
}

/** `Invoice.objects…` or a queryset built from it, not a related manager or `self.queryset`. */
function modelRooted(query: QueryShape): boolean {
  return query.model !== null && query.source === query.model;
}

const USER_ROLE_ATTRS = /^(role|roles|tier|plan|level|user_type|account_type|access_level|permission_level|is_\w+|can_\w+)$/;
const NOT_ROLE_ATTRS = new Set(["is_authenticated", "is_anonymous", "is_active"]);

/** `request.session` or `self.request.session`. */
function isRequestSession(node: SyntaxNode): boolean {
  return /^(self\.)?request\.session$/.test(node.text);
}

/** `request.session["k"]` → "k"; null for anything else. */
function sessionKey(node: SyntaxNode): string | null {
  if (node.type !== "subscript") return null;
  const value = field(node, "value");
  const index = field(node, "subscript");
  if (!value || !index || !isRequestSession(value)) return null;
  return stringValue(index);
}

function readParams(parameters: SyntaxNode | null): string[] {
  if (!parameters) return [];
  const out: string[] = [];
  for (const param of parameters.namedChildren) {
    if (param.type === "identifier") out.push(param.text);
    else {
      const name = field(param, "name") ?? param.namedChildren.find((c) => c.type === "identifier") ?? null;
      if (name) out.push(name.text);
    }
  }
  return out;
}

function isRequestUser(node: SyntaxNode): boolean {
  return node.type === "attribute" && /^(self\.)?request\.user$/.test(node.text);
}

/** `status` for `inv.status.code`: the attribute `depth` steps after the root variable. */
function firstAttribute(node: SyntaxNode, depth = 1): string | null {
  // Collected from the outermost attribute inwards: pushing keeps long chains linear.
  const names: string[] = [];
  let current: SyntaxNode | null = node;
  while (current && current.type === "attribute") {
    names.push(field(current, "attribute")?.text ?? "");
    current = field(current, "object");
  }
  return names[names.length - depth] ?? null;
}

function exceptionNames(handler: SyntaxNode): string[] {
  const value = field(handler, "value") ?? handler.namedChildren[0];
  if (!value) return [];
  const text = value.type === "as_pattern" ? value.namedChildren[0]?.text ?? "" : value.text;
  return text.split(/[^\w.]+/).filter(Boolean).map((n) => n.split(".").pop()!);
}

function valueQuery(value: Value): QueryShape | undefined {
  if (value.kind === "queryset" || value.kind === "fetch") return value.query;
  return undefined;
}
