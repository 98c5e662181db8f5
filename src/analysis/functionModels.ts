/** Builds the model of each function the rules look at (see model.ts). */
import type { CheckEvent, FileFacts, FunctionFacts } from "../extract/facts.js";
import { type Project } from "../project/buildProject.js";
import { functionKey } from "../project/callGraph.js";
import { locksThroughCustomMethod } from "../project/locks.js";
import { resolveEvents, withDeclaredChecks } from "../project/resolvedEvents.js";
import { requestTransaction } from "../project/transactions.js";
import type { FunctionModel, ModelCore } from "./model.js";
import { stateWrites } from "./stateWrites.js";

export function buildFunctionModels(project: Project, file: FileFacts): FunctionModel[] {
  return file.functions.map((fn) => {
    const core = modelCore(project, file, fn);
    return { ...core, stateWrites: stateWrites(core, project) };
  });
}

function modelCore(project: Project, file: FileFacts, fn: FunctionFacts): ModelCore {
  // DRF's permission classes run before the handler: their checks guard its whole body.
  const inherited = (project.permissionChecks.get(functionKey(file, fn)) ?? []).map((check): CheckEvent => ({
    ...check, pos: fn.span[0], scopes: [fn.span], guard: "decorator",
  }));
  const locking = project.lockingQuerysetMethods;
  const events = [...inherited, ...withDeclaredChecks(file, fn, resolveEvents(project, file, fn), project.checkHelpers)]
    .map((e) => (e.type === "fetch" && locksThroughCustomMethod(locking, e.query) ? { ...e, query: { ...e.query, locked: true } } : e));
  const atomic = fn.regions.filter((r) => r.kind === "atomic");
  const implicit = requestTransaction(project.settings, fn);
  if (implicit) atomic.push(implicit);
  const defs = fn.defs.map((d) => (d.query && locksThroughCustomMethod(locking, d.query) ? { ...d, query: { ...d.query, locked: true } } : d));
  return { file, fn, events, atomic, defs, callers: project.calls.callersOf(file, fn) };
}
