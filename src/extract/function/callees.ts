/**
 * Classifies a call by what is called. Function calls (`f(...)`) and method calls
 * (`x.f(...)`) each have an ordered table of recognisers, tried in order until one knows the
 * call, then a fallback. A recogniser that lists names is only tried on calls of those names:
 * one Map lookup on the called name gives the few that may apply, in table order.
 */
import type { SyntaxNode } from "../../parse/parser.js";
import type { GuardKind, Span } from "../facts.js";
import { field } from "../syntax.js";
import {
  checkByName, objectStateMethod, passwordCheck, permCacheDelattr, permCacheDictPop, userFlagCall,
} from "./authzChecks.js";
import { type CallSite, type FunctionBuilder, type MethodCallSite, OTHER, type Recogniser, type Value } from "./builder.js";
import { constructorCall, functionCall, methodCall, selfMethodCall, viewObjectFetch } from "./calls.js";
import { enqueue } from "./enqueues.js";
import {
  constructedSave, fetchFunction, instanceWrite, ormMethod, otherSave, refreshFromDb, relationWrite, sizedQueryset, uncommittedSave,
} from "./ormCalls.js";
import { isRequestUser } from "./request.js";
import { slowFunction, slowMethod } from "./slowWork.js";
import { cacheStore, sessionRead } from "./stores.js";

type Recognise<C> = (site: C) => Value | null;

class CalleeTable<C extends CallSite> {
  private readonly byName = new Map<string, Recognise<C>[]>();
  /** The recognisers that list no names: all a call of an unlisted name meets. */
  private readonly anyName: Recognise<C>[];

  constructor(table: readonly Recogniser<C>[], private readonly fallback: (site: C) => Value) {
    const named = table.map((r) => (r.names ? new Set(r.names) : null));
    this.anyName = table.filter((_, i) => !named[i]).map((r) => r.recognise);
    for (const names of named) {
      for (const name of names ?? []) {
        if (!this.byName.has(name)) this.byName.set(name, table.filter((_, i) => !named[i] || named[i]!.has(name)).map((r) => r.recognise));
      }
    }
  }

  classify(site: C): Value {
    for (const recognise of this.byName.get(site.name) ?? this.anyName) {
      const value = recognise(site);
      if (value) return value;
    }
    return this.fallback(site);
  }
}

const FUNCTION_CALLS = new CalleeTable<CallSite>(
  [fetchFunction, sizedQueryset, constructorCall, permCacheDelattr, slowFunction],
  functionCall,
);

const METHOD_CALLS = new CalleeTable<MethodCallSite>(
  [
    permCacheDictPop, ormMethod, constructedSave, uncommittedSave, instanceWrite, refreshFromDb, relationWrite, enqueue,
    sessionRead, cacheStore, userFlagCall, checkByName, slowMethod, passwordCheck, objectStateMethod, otherSave, viewObjectFetch, selfMethodCall,
  ],
  methodCall,
);

/** Classifies a call by what is called (`fn`), with the arguments of `call`. */
export function classifyCall(
  b: FunctionBuilder, fn: SyntaxNode, call: SyntaxNode, args: SyntaxNode | null, scopes: Span[] | null, guard: GuardKind | null,
): Value {
  if (fn.type === "identifier") return FUNCTION_CALLS.classify({ b, call, fn, name: fn.text, args, scopes, guard });
  const receiver = fn.type === "attribute" ? field(fn, "object") : null;
  if (!receiver) {
    b.push(fn);
    b.pushArgs(args);
    return OTHER;
  }
  const rootDef = receiver.type === "identifier" ? b.lookup(receiver.text) : receiver.type === "attribute" ? b.chainDef(receiver) : null;
  return METHOD_CALLS.classify({
    b, call, fn, name: field(fn, "attribute")?.text ?? "", args, scopes, guard, receiver, rootDef,
    receiverIsUser: isRequestUser(receiver) || (receiver.type === "identifier" && b.isRequestUserDef(rootDef)),
  });
}
