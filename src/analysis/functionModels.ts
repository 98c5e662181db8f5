/** Builds the model of each function the rules look at (see model.ts). */
import type { CheckEvent, FileFacts, FunctionFacts, QueryShape } from "../extract/facts.js";
import { type Project } from "../project/buildProject.js";
import { functionKey } from "../project/callGraph.js";
import { locksThroughCustomMethod } from "../project/locks.js";
import { isDrfPermissionDispatch } from "../project/permissions.js";
import { resolveEvents, withDeclaredChecks } from "../project/resolvedEvents.js";
import { requestTransaction } from "../project/transactions.js";
import { viewModel } from "../project/viewModels.js";
import type { FunctionModel, ModelCore } from "./model.js";
import { stateWrites } from "./stateWrites.js";

export function buildFunctionModels(project: Project, file: FileFacts): FunctionModel[] {
  return file.functions.map((fn) => {
    const core = modelCore(project, file, fn);
    return { ...core, stateWrites: stateWrites(core, project) };
  });
}

function modelCore(project: Project, file: FileFacts, fn: FunctionFacts): ModelCore {
  const lockedQuery = (query: QueryShape): QueryShape => (locksThroughCustomMethod(project.lockingQuerysetMethods, query) ? { ...query, locked: true } : query);
  // DRF's permission classes run before the handler: their checks guard its whole body.
  const inherited = (project.permissionChecks.get(functionKey(file, fn)) ?? []).map((check): CheckEvent => ({
    ...check, pos: fn.span[0], scopes: [fn.span], guard: "decorator",
  }));
  // `self.get_object()` / `self.get_queryset()` fetch the view's model; `self` in a custom
  // manager's methods is the rows of the model that installs it.
  const ofView = fn.className ? viewModel(project.index, file, fn) : null;
  const ofManager = fn.className ? project.models.managerModels.get(fn.className) ?? null : null;
  const typed = (query: QueryShape): QueryShape => {
    if (query.model !== null) return query;
    if (ofView && (query.source === "self.get_object()" || query.source === "self.get_queryset()")) return { ...query, model: ofView };
    if (ofManager && query.source === "self") return { ...query, model: ofManager, source: ofManager };
    return query;
  };
  // `self.check_permissions(request)` under AllowAny/IsAuthenticated only authenticates.
  const authenticationOnly = project.authenticationOnlyDispatch.has(functionKey(file, fn));
  const events = [...inherited, ...withDeclaredChecks(file, fn, resolveEvents(project, file, fn), project.checkHelpers)]
    .filter((e) => !(authenticationOnly && e.type === "check" && isDrfPermissionDispatch(e)))
    .map((e) => {
      if (e.type === "fetch") {
        const query = lockedQuery(typed(e.query));
        return query === e.query ? e : { ...e, query };
      }
      if ((e.type === "write" || e.type === "check") && e.query) {
        const query = typed(e.query);
        return query === e.query ? e : { ...e, query };
      }
      return e;
    });
  const atomic = fn.regions.filter((r) => r.kind === "atomic");
  const implicit = requestTransaction(project.settings, fn);
  if (implicit) atomic.push(implicit);
  const defs = fn.defs.map((d) => {
    const query = d.query ? lockedQuery(typed(d.query)) : undefined;
    return query === d.query ? d : { ...d, query };
  });
  return { file, fn, events, atomic, defs, callers: project.calls.callersOf(file, fn) };
}
