/**
 * The checks a condition makes (an `if`/`elif` test, an `assert`, a returned boolean): calls
 * (permission APIs, helpers, `exists()`), reads of a fetched object's fields (state checks),
 * the request user's attributes, session keys, and variables holding earlier checks.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { GuardKind, Span } from "../facts.js";
import { field, stringValue, unwrap } from "../syntax.js";
import { existenceCheck, stateCheck, stateSubject, userAttribute } from "./authzChecks.js";
import type { FunctionBuilder } from "./builder.js";
import { mentionsUser } from "./querysets.js";
import { isRequestSession, sessionKey } from "./request.js";

const LITERALS = new Set(["string", "integer", "float", "true", "false", "none"]);

const NEGATING_COMPARISONS = new Set(["!=", "not in", "is not"]);

const ORDERING = new Set(["<", ">", "<=", ">="]);

const FALSY = new Set(["0", "False", "None", '""', "''"]);

/**
 * Is `x OP right` true when `x` is falsy? `count == 0`, `x is None`, `n < 1` and `a != b` deny
 * what `x` grants; `count > 0` and `x is not None` grant it.
 */
function comparisonFlips(operator: string, right: SyntaxNode): boolean {
  if (FALSY.has(right.text)) return operator === "==" || operator === "is" || operator === "<=";
  if (right.text === "1" && operator === "<") return true;
  if (right.text === "True") return operator === "!=" || operator === "is not";
  return NEGATING_COMPARISONS.has(operator);
}

/**
 * Records the checks `condition` makes, guarding `scopes`; `whenFalse` are the scopes that run
 * when the condition is false. Each check notes whether it stands negated in the condition.
 */
export function analyseCondition(b: FunctionBuilder, condition: SyntaxNode, scopes: Span[], guard: GuardKind | null, whenFalse: Span[] = []): void {
  const seenStates = new Set<string>();
  const firstEvent = b.events.length;
  const stack: SyntaxNode[] = [condition];
  /** Nodes that stand under an odd number of negations. */
  const negated = new Set<SyntaxNode>();
  /** Nodes under an ordering comparison with a bound (`level < 3`): which side grants is not known. */
  const thresholds = new Set<SyntaxNode>();
  /** Nodes compared with an integer literal (`admins.count() <= 1`), and that literal. */
  const bounds = new Map<SyntaxNode, string>();
  const push = (child: SyntaxNode, parent: SyntaxNode, flip = false) => {
    if (negated.has(parent) !== flip) negated.add(child);
    if (thresholds.has(parent)) thresholds.add(child);
    if (bounds.has(parent) && !bounds.has(child)) bounds.set(child, bounds.get(parent)!);
    stack.push(child);
  };
  // Arguments of calls in the condition: `f(qs)` tests what f returns, not whether qs has rows.
  const callArguments = new Set<SyntaxNode>();
  while (stack.length > 0) {
    const popped = stack.pop()!;
    const node = unwrap(popped);
    if (node !== popped && negated.has(popped)) negated.add(node);
    if (node !== popped && thresholds.has(popped)) thresholds.add(node);
    b.conditionNegated = negated.has(node);
    b.conditionThreshold = thresholds.has(node);
    if (node !== popped && bounds.has(popped)) bounds.set(node, bounds.get(popped)!);
    b.conditionBound = bounds.get(node) ?? null;
    switch (node.type) {
      case "not_operator": {
        const argument = field(node, "argument");
        if (argument) push(argument, node, true);
        continue;
      }
      case "comparison_operator": {
        const operands = node.namedChildren;
        const operators = node.children.filter((c) => !c.isNamed).map((c) => c.type);
        const flips = operators.length === 1 && operands.length === 2 && comparisonFlips(operators[0]!, operands[1]!);
        b.conditionNegated = negated.has(node) !== flips;
        if (operators.length === 1 && ORDERING.has(operators[0]!) && !flips && !FALSY.has(operands[1]?.text ?? "")) thresholds.add(node);
        if (operands.length === 2 && operators.length === 1) {
          const [left, right] = operands as [SyntaxNode, SyntaxNode];
          if (right.type === "integer") bounds.set(left, right.text);
          else if (left.type === "integer") bounds.set(right, left.text);
        }
        if (operands.length === 2 && operators.length === 1 && (operators[0] === "!=" || operators[0] === "==")) {
          const [left, right] = operands as [SyntaxNode, SyntaxNode];
          const subject = stateSubject(b, left) ? left : stateSubject(b, right) ? right : null;
          if (subject) {
            const other = subject === left ? right : left;
            const event = stateCheck(b, subject, scopes, guard, seenStates);
            // "Set it if it differs" from a computed value: recorded so that assigning exactly
            // that value is recognised as order-independent. A literal is a state transition.
            if (event && operators[0] === "!=" && !LITERALS.has(other.type)) event.comparedTo = other.text.replace(/\s+/g, " ");
            if (event && (other.type === "string" || other.type === "integer" || other.type === "float")) event.manyValued = true;
            if (event && (other.type === "identifier" || other.type === "attribute") && mentionsUser(b, other)) event.identity = true;
            push(other, node, flips);
            continue;
          }
        }
        if (operands.length === 2 && operators[0] === "in" && isRequestSession(operands[1]!)) {
          const key = stringValue(operands[0]!);
          if (key !== null) {
            b.emitCheck(node, "session", scopes, guard, { byName: false, key });
            continue;
          }
        }
        for (const child of operands) push(child, node, flips);
        continue;
      }
      case "call": {
        const before = b.stack.length;
        b.evaluate(node, scopes, guard);
        // Sub-expressions of the call are conditions too (`not can(user, inv.owner)`).
        const queued = b.stack.splice(before).map((item) => ("node" in item ? item.node : null));
        for (const child of queued) {
          if (!child) continue;
          callArguments.add(child);
          push(child, node);
        }
        continue;
      }
      case "attribute": {
        if (stateSubject(b, node)) {
          stateCheck(b, node, scopes, guard, seenStates);
          continue;
        }
        const attribute = userAttribute(b, node);
        if (attribute) {
          b.emitCheck(node, attribute.kind, scopes, guard, { byName: false, field: attribute.field });
          continue;
        }
        const session = sessionKey(node);
        if (session !== null) {
          b.emitCheck(node, "session", scopes, guard, { byName: false, key: session });
          continue;
        }
        // The whole chain was judged from its outermost link: continue below it (long chains stay linear).
        let below: SyntaxNode | null = field(node, "object");
        while (below && below.type === "attribute") below = field(below, "object");
        if (below) push(below, node);
        continue;
      }
      case "identifier": {
        const held = b.checkVars.get(node.text);
        if (held) {
          for (const event of held) {
            event.scopes.push(...scopes);
            if (event.type !== "check") continue;
            // `allowed = can(...)` then `if not allowed:`: the variable's negation is the check's.
            if (negated.has(node)) event.negated = true;
            if (whenFalse.length > 0) event.whenFalse = [...(event.whenFalse ?? []), ...whenFalse];
          }
        }
        const id = b.lookup(node.text);
        const def = id === null ? null : b.defs[id];
        if (def?.origin === "queryset" && def.query && !callArguments.has(node)) existenceCheck(b, node, def.query, "bool", scopes, guard);
        // `row = qs.first()` then `if row:` / `if row is None:`: whether a matching row exists.
        else if (def?.origin === "fetch" && def.maybeNone && def.query && !callArguments.has(node)) existenceCheck(b, node, def.query, "first", scopes, guard);
        continue;
      }
      case "subscript": {
        const session = sessionKey(node);
        if (session !== null) {
          b.emitCheck(node, "session", scopes, guard, { byName: false, key: session });
          continue;
        }
        for (const child of node.namedChildren) push(child, node);
        continue;
      }
      case "lambda":
        continue;
      default:
        for (const child of node.namedChildren) {
          if (callArguments.has(node)) callArguments.add(child);
          push(child, node);
        }
    }
  }
  b.conditionNegated = false;
  b.conditionThreshold = false;
  b.conditionBound = null;
  if (whenFalse.length === 0) return;
  for (let i = firstEvent; i < b.events.length; i++) {
    const event = b.events[i]!;
    if (event.type === "check" && event.scopes.length > 0) event.whenFalse = [...whenFalse];
  }
}
