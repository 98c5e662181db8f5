/**
 * The statement walker: an iterative walk of one function body that opens regions (atomic
 * blocks, loops, try bodies), gives each check the ranges it guards (the branch it decides, and
 * what follows an `if` that exits), and records returns, raises and decorators. Nested
 * functions and classes are skipped here (they are modelled on their own).
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { CallEvent, CheckEvent, FetchEvent, GuardKind, Span } from "../facts.js";
import { blockExits, dominatedEnd, dottedName, field, rootIdentifier, span, unwrap } from "../syntax.js";
import { DENIAL_EXCEPTIONS, DENIAL_RESPONSES, INTEGRITY_ERRORS, RESPONSE_FACTORIES } from "../vocabulary.js";
import { recordAttributeWrite, recordContainerWrite, visitAssignment } from "./assignments.js";
import { decoratorCheck, permCacheCleared } from "./authzChecks.js";
import { FunctionBuilder, type Value, importedAs } from "./builder.js";
import { analyseCondition } from "./conditions.js";
import { evaluateExpression } from "./expressions.js";

export class StatementWalker extends FunctionBuilder {
  evaluate(node: SyntaxNode, scopes: Span[] | null = null, guard: GuardKind | null = null): Value {
    return evaluateExpression(this, node, scopes, guard);
  }

  /** Walks the function and completes its facts: events in source order, the fields it mutates. */
  run(): void {
    const node = this.site.node;
    const params = this.facts.params;
    for (const param of params) {
      if (param === "user" || param === "request_user") this.define(param, "request-user", node.startIndex, []);
      // Other parameters are objects handed in (perform_destroy(self, instance)): writes on them count.
      else if (param !== "self" && param !== "cls" && param !== "request") this.define(param, "other", node.startIndex, []);
    }
    // A model's own method: `self` is the row, so `self.status = …; self.save()` writes it.
    if (params[0] === "self" && this.site.classBases.some((b) => /(^|\.)\w*Model$/.test(b) && !/Serializer|Form|Admin|ViewSet/.test(b))) {
      this.define("self", "self", node.startIndex, []);
    }
    // DRF passes has_object_permission() the instance get_object() fetched, without a lock.
    if (this.site.qualifiedName.endsWith(".has_object_permission") && params.length >= 4) {
      this.define(params[params.length - 1]!, "fetch", node.startIndex, [], { model: null, source: "get_object()", filterFields: [], filterRefsUser: false, locked: false });
    }
    const body = field(node, "body");
    if (body) {
      this.applyDecorators(body);
      this.push(body);
      this.drain();
    }
    this.events.sort((a, b) => a.pos - b.pos);
    this.facts.fieldWrites = [...this.mutations].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, { line, stampsUser }]) => (stampsUser ? { key, line, stampsUser } : { key, line }));
  }

  private drain(): void {
    while (this.stack.length > 0) {
      const item = this.stack.pop()!;
      if ("after" in item) item.after();
      else this.visit(item.node);
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
        this.addRegion("loop", node, node);
        return this.pushChildren(node);
      case "with_statement":
        return this.visitWith(node);
      case "try_statement":
        return this.visitTry(node);
      case "assert_statement": {
        const condition = node.namedChildren[0];
        if (condition) analyseCondition(this, condition, [[node.endIndex, dominatedEnd(node)]], "assert");
        return;
      }
      case "return_statement":
        return this.visitReturn(node);
      case "delete_statement": {
        // del user._perm_cache: ModelBackend recomputes permissions on the next has_perm().
        if (/_(user_|group_)?perm_cache\b/.test(node.text)) {
          const root = rootIdentifier(node.namedChildren[0]?.type === "attribute" ? node.namedChildren[0] : node.namedChildren[0]?.namedChildren[0] ?? node);
          permCacheCleared(this, node, root ? this.lookup(root.text) : null);
        }
        return;
      }
      case "raise_statement":
        return this.visitRaise(node);
      case "expression_statement":
        return this.visitExpressionStatement(node);
      case "assignment":
        return visitAssignment(this, node);
      case "augmented_assignment": {
        const left = field(node, "left");
        const value = field(node, "right");
        if (left?.type === "attribute" && value) recordAttributeWrite(this, left, value, true);
        else if (left && recordContainerWrite(this, left)) {
          if (value) this.push(value);
          return;
        }
        return this.pushChildren(node);
      }
      case "call":
      case "subscript":
      case "list_comprehension":
      case "set_comprehension":
      case "dictionary_comprehension":
      case "generator_expression":
        this.evaluate(node);
        return;
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
      this.evaluate(inner, [[node.endIndex, dominatedEnd(node)]], "raise-call");
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
      const whenFalse: Span[] = blockExits(clause.body) ? [after, ...later] : later;
      analyseCondition(this, clause.condition, [span(clause.body), ...whenFalse], "if", whenFalse);
    });
    this.pushAll(clauses.map((c) => c.body));
  }

  private visitFor(node: SyntaxNode): void {
    const left = field(node, "left");
    const right = field(node, "right");
    const body = field(node, "body");
    this.addRegion("loop", node, node);
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
        this.addRegion("atomic", body, node);
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
    if (body && handlers.some((h) => exceptionNames(h).some((n) => INTEGRITY_ERRORS.has(n)))) this.addRegion("try-integrity", body, node);
    const missingHandlers = handlers.filter((h) => exceptionNames(h).some((n) => n === "DoesNotExist" || n === "ObjectDoesNotExist"));
    const afterBody = () => {
      if (!body || missingHandlers.length === 0) return;
      // try: X.objects.get(...) / except X.DoesNotExist: create — a hand-written get_or_create.
      const fetch = this.events.find(
        (e): e is FetchEvent => e.type === "fetch" && e.single && e.pos >= body.startIndex && e.pos < body.endIndex,
      );
      if (!fetch) return;
      const check: CheckEvent = {
        type: "check", pos: fetch.pos, site: fetch.site, kind: "exists", guard: "except", byName: false, method: "get",
        scopes: missingHandlers.map((h) => span(h)), query: fetch.query,
      };
      this.events.push(check);
    };
    this.pushAll(clauses);
    this.pushAfter(afterBody);
    if (body) this.push(body);
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
      // Returning fetched rows in a response discloses them: the defs the response is built from.
      const before = this.events.length;
      this.pushAfter(() => {
        const defs = new Set(this.closure(this.referencedDefs(value)));
        for (const event of this.events.slice(before)) if (event.type === "fetch" && event.def !== null) defs.add(event.def);
        const disclosed = [...defs].filter((id) => {
          const origin = this.defs[id]?.origin;
          return origin === "fetch" || origin === "queryset";
        });
        if (disclosed.length > 0) {
          this.events.push({ type: "disclose", pos: node.startIndex, site: this.ctx.lines.site(node), defs: disclosed.sort((a, b) => a - b) });
        }
      });
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
      analyseCondition(this, value, [], null);
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

  /** `@transaction.atomic` makes the whole function a region; check decorators guard its body. */
  private applyDecorators(body: SyntaxNode): void {
    for (const decorator of this.site.decorators) {
      const expression = decorator.namedChildren[0];
      if (!expression) continue;
      if (this.isTransaction(expression)) this.addRegion("atomic", this.site.node, decorator);
      else decoratorCheck(this, decorator, expression, body);
    }
  }

  private isTransaction(expression: SyntaxNode): boolean {
    const callee = expression.type === "call" ? field(expression, "function") : expression;
    const name = callee ? dottedName(callee) : null;
    if (!name) return false;
    const [head, ...rest] = name.split(".");
    const resolved = [importedAs(this.ctx, head!) ?? head, ...rest].join(".");
    if (this.ctx.transactionNames.has(resolved) || this.ctx.transactionNames.has(name)) return true;
    return resolved === "django.db.transaction.atomic" || name === "transaction.atomic" || resolved.endsWith("transaction.atomic");
  }
}

/** The exception class names an `except` clause catches, without their module path. */
function exceptionNames(handler: SyntaxNode): string[] {
  const value = field(handler, "value") ?? handler.namedChildren[0];
  if (!value) return [];
  const text = value.type === "as_pattern" ? value.namedChildren[0]?.text ?? "" : value.text;
  return text.split(/[^\w.]+/).filter(Boolean).map((n) => n.split(".").pop()!);
}
