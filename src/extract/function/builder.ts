/**
 * The state one function's walk builds up (events, regions, variable definitions, the stack of
 * nodes still to visit) and the primitives that record into it. The statement walker and every
 * call recogniser share one builder; evaluating an expression is the walker's part.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type {
  CallEvent, CheckEvent, CheckKind, FetchEvent, FunctionEvent, FunctionFacts, GuardKind, QueryShape, Region, Span,
  VariableDef, WriteEvent, WriteOp,
} from "../facts.js";
import type { FunctionSite } from "../moduleFacts.js";
import { normaliseField } from "../moduleFacts.js";
import { type SourceLines, field, rootIdentifier, span, unwrap } from "../syntax.js";


/** Connecting a receiver to the migration signals: `post_migrate.connect(fn)`, `signals.pre_migrate.connect(fn)`. */
const MIGRATE_SIGNAL_CONNECT = /(^|\.)(pre|post)_migrate\.connect$/;
export interface FileContext {
  lines: SourceLines;
  imports: Record<string, string>;
  /** Extra dotted names that open a transaction when used as decorator or context manager. */
  transactionNames: ReadonlySet<string>;
}

/** The dotted name a local name was imported as (`requests` for `import requests as r`); own properties only, so `constructor` is no import. */
export function importedAs(ctx: FileContext, name: string): string | undefined {
  return Object.hasOwn(ctx.imports, name) ? ctx.imports[name] : undefined;
}

/** What an expression evaluates to, as far as the model cares. */
export type Value =
  | { kind: "queryset"; query: QueryShape; builtPos: number; defs: number[] }
  | { kind: "fetch"; event: FetchEvent | null; query: QueryShape; single: boolean; maybeNone?: boolean }
  | { kind: "check"; events: (CheckEvent | CallEvent)[] }
  /** An unsaved instance: of `model`, or of a model the code does not name (`form.save(commit=False)`). */
  | { kind: "new"; model: string | null }
  | { kind: "call"; event: CallEvent }
  | { kind: "other" };

export const OTHER: Value = { kind: "other" };

/** A call being classified: what is called, with which arguments, and what its value decides. */
export interface CallSite {
  b: FunctionBuilder;
  call: SyntaxNode;
  /** The callee expression: `f`, `obj.method`, or what `sync_to_async(...)` wraps. */
  fn: SyntaxNode;
  /** The called name: the identifier, or the attribute after the last dot. */
  name: string;
  args: SyntaxNode | null;
  /** Set when the call's value decides a branch, or the call is a statement that may raise. */
  scopes: Span[] | null;
  guard: GuardKind | null;
}

/** A call of `receiver.name(...)`. */
export interface MethodCallSite extends CallSite {
  receiver: SyntaxNode;
  /** The variable the receiver's chain starts from, when tracked. */
  rootDef: number | null;
  receiverIsUser: boolean;
}

/**
 * One entry of a recogniser table: returns the call's value when it knows the call, else null
 * without side effects. With `names`, it is only tried on calls of those names.
 */
export interface Recogniser<C extends CallSite> {
  names?: Iterable<string>;
  recognise: (site: C) => Value | null;
}

type StackItem = { node: SyntaxNode } | { after: () => void };

export abstract class FunctionBuilder {
  readonly events: FunctionEvent[];
  readonly regions: Region[];
  readonly defs: VariableDef[];
  /** The definition each name holds at this point of the walk. */
  private readonly current = new Map<string, number>();
  /** Variables holding the result of a check, so `if not allowed:` guards with it. */
  readonly checkVars = new Map<string, (CheckEvent | CallEvent)[]>();
  readonly stack: StackItem[] = [];
  /** Call nodes known not to start an ORM chain, so long chains are walked once. */
  readonly notOrm = new Set<number>();
  /** Whether the function names ModelBackend's permission caches; computed on first need. */
  permCacheNamed: boolean | undefined;
  /** Field keys written, each with the line of its first write and whether every write set the requesting user. */
  readonly mutations = new Map<string, { line: number; stampsUser: boolean }>();
  /** While a condition is read: whether the part being read stands under an odd number of negations. */
  conditionNegated = false;
  /** The check being read stands in an ordering comparison with a bound (`user.level < 3`). */
  conditionThreshold = false;
  /** The integer literal the check being read is compared with (`qs.count() <= 1`). */
  conditionBound: string | null = null;

  /** Parameters whose default is None (`max_width=None`): a value that may be NULL in a lookup. */
  readonly noneDefaults: ReadonlySet<string>;

  constructor(readonly site: FunctionSite, readonly ctx: FileContext, readonly facts: FunctionFacts) {
    this.events = facts.events;
    this.regions = facts.regions;
    this.defs = facts.defs;
    const parameters = field(site.node, "parameters")?.namedChildren ?? [];
    this.noneDefaults = new Set(parameters.filter((p) => /default_parameter$/.test(p.type) && field(p, "value")?.type === "none").map((p) => field(p, "name")?.text ?? ""));
  }

  /**
   * Emits the events an expression causes and queues its sub-expressions for the walk.
   * `scopes`/`guard` are set when the value decides a branch or the expression may raise.
   */
  abstract evaluate(node: SyntaxNode, scopes?: Span[] | null, guard?: GuardKind | null): Value;

  // ---- the walk's stack ---------------------------------------------------------------------

  pushChildren(node: SyntaxNode): void {
    const children = node.namedChildren;
    for (let i = children.length - 1; i >= 0; i--) this.stack.push({ node: children[i]! });
  }

  /** Queues nodes to be visited in the order given. */
  pushAll(nodes: (SyntaxNode | null | undefined)[]): void {
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      if (node) this.stack.push({ node });
    }
  }

  push(node: SyntaxNode): void {
    this.stack.push({ node });
  }

  pushArgs(args: SyntaxNode | null): void {
    if (args) this.stack.push({ node: args });
  }

  /** Runs `after` once everything queued after it has been visited. */
  pushAfter(after: () => void): void {
    this.stack.push({ after });
  }

  // ---- definitions ------------------------------------------------------------------------

  define(name: string, origin: VariableDef["origin"], pos: number, from: number[], query?: QueryShape, defPos?: number): number {
    const id = this.defs.length;
    const def: VariableDef = { id, name, pos: defPos ?? pos, origin, from: [...new Set(from)] };
    if (query) def.query = query;
    this.defs.push(def);
    this.current.set(name, id);
    this.checkVars.delete(name);
    return id;
  }

  lookup(name: string): number | null {
    return this.current.get(name) ?? null;
  }

  /** The variable holds `request.user` (or a parameter named `user`/`request_user`). */
  isRequestUserDef(id: number | null): boolean {
    return id !== null && this.defs[id]?.origin === "request-user";
  }

  /** The definition an attribute chain starts from: `inv` for `inv.owner.id`, `self.inv` when tracked. */
  chainDef(node: SyntaxNode): number | null {
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
  referencedDefs(node: SyntaxNode | null): number[] {
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
  argumentDefs(args: SyntaxNode | null): number[] {
    const out = new Set<number>();
    for (const arg of args ? args.namedChildren : []) {
      const value = unwrap(arg.type === "keyword_argument" ? field(arg, "value") ?? arg : arg);
      const root = value.type === "identifier" ? value : value.type === "attribute" ? rootIdentifier(value) : null;
      const id = root ? this.lookup(root.text) : null;
      if (id !== null) out.add(id);
    }
    return [...out].sort((a, b) => a - b);
  }

  /** Bare variables passed as arguments, by position or keyword (`f(inv, user=obj)`); a `*args`/`**kw` ends the positions. */
  passedVariables(args: SyntaxNode | null): { at: number | string; def: number }[] {
    const out: { at: number | string; def: number }[] = [];
    let index = 0;
    for (const arg of args ? args.namedChildren : []) {
      if (arg.type === "list_splat" || arg.type === "dictionary_splat") break;
      if (arg.type === "comment") continue;
      const keyword = arg.type === "keyword_argument" ? field(arg, "name")?.text ?? null : null;
      const value = unwrap(arg.type === "keyword_argument" ? field(arg, "value") ?? arg : arg);
      const id = value.type === "identifier" ? this.lookup(value.text) : null;
      if (id !== null) out.push({ at: keyword ?? index, def: id });
      if (keyword === null) index++;
    }
    return out;
  }

  /** A definition and everything it was computed from. */
  closure(ids: number[]): number[] {
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

  mutate(model: string | null, fields: Iterable<string>, at: SyntaxNode, stampsUser = false): void {
    for (const f of fields) {
      const key = `${model ?? "*"}.${normaliseField(f)}`;
      const known = this.mutations.get(key);
      if (!known) this.mutations.set(key, { line: at.startPosition.row + 1, stampsUser });
      else if (!stampsUser) known.stampsUser = false;
    }
  }

  // ---- events and regions -----------------------------------------------------------------

  addRegion(kind: Region["kind"], spanned: SyntaxNode, at: SyntaxNode): void {
    this.regions.push({ kind, span: span(spanned), site: this.ctx.lines.site(at) });
  }

  emitFetch(node: SyntaxNode, query: QueryShape, single: boolean, builtPos: number): FetchEvent {
    const event: FetchEvent = { type: "fetch", pos: node.startIndex, site: this.ctx.lines.site(node), def: null, query, single, builtPos };
    this.events.push(event);
    return event;
  }

  emitWrite(node: SyntaxNode, op: WriteOp, defs: number[], targetDef: number | null, query: QueryShape | null): { kind: "other"; event: WriteEvent } {
    const event: WriteEvent = {
      type: "write", pos: node.startIndex, site: this.ctx.lines.site(node), op, defs: [...new Set(defs)].sort((a, b) => a - b),
      targetDef, query, fFields: [], lookupFields: [],
    };
    this.events.push(event);
    return { kind: "other", event };
  }

  emitCheck(
    node: SyntaxNode, kind: CheckKind, scopes: Span[] | null, guard: GuardKind | null,
    extra: { subjectDef?: number; field?: string | null; onDefs?: number[]; query?: QueryShape; byName: boolean; receiver?: string; key?: string; method?: string },
  ): Value {
    const event: CheckEvent = {
      type: "check", pos: node.startIndex, site: this.ctx.lines.site(node), kind, scopes: scopes ? [...scopes] : [],
      guard: guard ?? "if", ...extra,
    };
    if (this.conditionNegated) event.negated = true;
    if (this.conditionThreshold) event.threshold = true;
    if (this.conditionBound !== null) event.bound = this.conditionBound;
    this.events.push(event);
    return { kind: "check", events: [event] };
  }

  emitCall(call: SyntaxNode, callee: string, args: SyntaxNode | null, scopes: Span[] | null, guard: GuardKind | null): Value {
    const event: CallEvent = {
      type: "call", pos: call.startIndex, site: this.ctx.lines.site(call), callee, scopes: scopes ? [...scopes] : [],
      guard, argDefs: this.argumentDefs(args), resultDef: null,
    };
    const passed = this.passedVariables(args);
    if (passed.length > 0) event.passed = passed;
    // `post_migrate.connect(create_perms)`: the receiver runs after migrations, not in a request.
    const receiver = MIGRATE_SIGNAL_CONNECT.test(callee) ? args?.namedChildren[0] : undefined;
    if (receiver && (receiver.type === "identifier" || receiver.type === "attribute")) (this.facts.migrateReceivers ??= []).push(receiver.text);
    this.events.push(event);
    return { kind: "call", event };
  }
}
