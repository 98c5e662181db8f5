/**
 * The project's call graph: every call, enqueued task and stored callee in the facts resolved
 * once, eagerly, to the function it names (or to nothing), and the callers of each function.
 */
import type { CallEvent, FileFacts, FunctionFacts } from "../extract/facts.js";
import { classOf, findMethod } from "./classes.js";
import type { ModuleIndex } from "./modules.js";

export interface Callee {
  file: FileFacts;
  fn: FunctionFacts;
}

/** A resolved call: who calls, from which file, with which event. */
export interface CallSite {
  file: FileFacts;
  caller: FunctionFacts;
  event: CallEvent;
}

export class CallGraph {
  /** Per calling function, each callee text it uses and what it resolves to. */
  private readonly resolved = new Map<FunctionFacts, Map<string, Callee | null>>();
  /** Resolved calls by callee (`path\0name`). */
  private readonly callersByKey = new Map<string, CallSite[]>();

  constructor(private readonly index: ModuleIndex, files: readonly FileFacts[]) {
    for (const file of files) {
      for (const fn of file.functions) {
        const answers = new Map<string, Callee | null>();
        this.resolved.set(fn, answers);
        const ask = (callee: string) => {
          if (!answers.has(callee)) answers.set(callee, resolveCallee(index, file, fn, callee));
          return answers.get(callee)!;
        };
        for (const event of fn.events) {
          if (event.type === "call") {
            const target = ask(calleeText(event));
            if (target) {
              const key = functionKey(target.file, target.fn);
              const list = this.callersByKey.get(key);
              if (list) list.push({ file, caller: fn, event });
              else this.callersByKey.set(key, [{ file, caller: fn, event }]);
            }
          } else if (event.type === "write" && event.task) ask(event.task);
          else if (event.type === "store" && event.valueCallee) ask(event.valueCallee);
        }
        for (const callee of fn.returnCallees) ask(callee);
        for (const receiver of fn.migrateReceivers ?? []) ask(receiver);
      }
    }
  }

  /** The function a call event of `caller` reaches. */
  targetOf(file: FileFacts, caller: FunctionFacts, event: CallEvent): Callee | null {
    return this.calleeOf(file, caller, calleeText(event));
  }

  /** The function a callee text written in `caller` names; every text in the facts was resolved up front. */
  calleeOf(file: FileFacts, caller: FunctionFacts, callee: string): Callee | null {
    const answer = this.resolved.get(caller)?.get(callee);
    return answer !== undefined ? answer : resolveCallee(this.index, file, caller, callee);
  }

  /** Calls to this function from anywhere in the project. */
  callersOf(file: FileFacts, fn: FunctionFacts): readonly CallSite[] {
    return this.callersByKey.get(functionKey(file, fn)) ?? [];
  }
}

/** What a call names: its callee, or for a method of a constructed instance, `Class.method`. */
function calleeText(event: CallEvent): string {
  return event.receiverClass ? `${event.receiverClass}.${event.callee.slice(event.callee.lastIndexOf(".") + 1)}` : event.callee;
}

export function functionKey(file: { path: string } | string, fn: { name: string } | string): string {
  return `${typeof file === "string" ? file : file.path}\u0000${typeof fn === "string" ? fn : fn.name}`;
}

/**
 * Finds the function a callee text names: `helper` (this module, a nested helper, or an
 * imported function), `module.helper` through an import, `self.helper` through the class and
 * its scanned bases.
 */
function resolveCallee(index: ModuleIndex, file: FileFacts, caller: FunctionFacts, callee: string): Callee | null {
  if (callee.startsWith("self.") || callee.startsWith("cls.")) {
    const cls = classOf(index, file, caller);
    if (!cls) return null;
    return findMethod(index, file, cls, callee.slice(callee.indexOf(".") + 1));
  }
  if (!callee.includes(".")) {
    const prefix = caller.name.includes(".") ? caller.name.slice(0, caller.name.lastIndexOf(".")) : "";
    const named = (name: string) => index.functionsNamed(file, name);
    const local =
      named(`${caller.name}.${callee}`)[0] ??
      (prefix && !caller.className ? named(`${prefix}.${callee}`)[0] : undefined) ??
      named(callee).find((f) => f.className === null);
    if (local) return { file, fn: local };
  }
  const symbol = index.resolve(file, callee);
  if (symbol.kind === "function") return { file: symbol.file, fn: symbol.fn };
  // `Class.method` through the class and its scanned bases (a constructed instance's method).
  const dot = callee.lastIndexOf(".");
  if (dot < 0) return null;
  const owner = index.resolve(file, callee.slice(0, dot));
  return owner.kind === "class" ? findMethod(index, owner.file, owner.cls, callee.slice(dot + 1)) : null;
}
