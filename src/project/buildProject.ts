/**
 * The project stage: joins every file's facts into one `Project` and builds, once and eagerly,
 * every index the analysis needs: modules and classes, settings, models and their uniqueness,
 * the call graph and helper summaries, routes with their Basic Auth reach, the permission
 * checks DRF runs before each handler, and the project's own locking querysets.
 */
import type { Endpoint } from "../core/endpoint.js";
import type { CheckEvent, FileFacts, FunctionFacts } from "../extract/facts.js";
import { basicAuthCode } from "./basicAuthReach.js";
import { CallGraph } from "./callGraph.js";
import { EndpointReach } from "./endpointReach.js";
import { lockingQuerysetMethods } from "./locks.js";
import { type ModelIndex, indexModels } from "./models.js";
import { ModuleIndex } from "./modules.js";
import { authenticationOnlyDispatch, permissionChecks } from "./permissions.js";
import { buildRoutes } from "./routes.js";
import { type ProjectSettings, readSettings } from "./settings.js";
import { type HelperSummary, summarise } from "./summaries.js";
import { WriteIndex } from "./writeIndex.js";

export interface Project {
  files: FileFacts[];
  index: ModuleIndex;
  settings: ProjectSettings;
  models: ModelIndex;
  calls: CallGraph;
  /** Summaries by file path, then by qualified function name. */
  summaries: Map<string, Map<string, HelperSummary>>;
  endpoints: Endpoint[];
  reach: EndpointReach;
  /** Functions that run while HTTP Basic credentials are checked (authentication classes, decoding middleware). */
  basicAuthCode: ReadonlySet<FunctionFacts>;
  /** Who writes each model field and each model's rows, and whether only privileged actors reach them. */
  writes: WriteIndex;
  /** Authorization checks of DRF permission classes, by the function they run before (`functionKey`). */
  permissionChecks: Map<string, CheckEvent[]>;
  /**
   * DRF view methods (`functionKey`) whose `self.check_permissions()`/`check_object_permissions()`
   * run only authentication-only permission classes: no authorization decision to go stale.
   */
  authenticationOnlyDispatch: ReadonlySet<string>;
  /** Methods of custom managers/querysets in the tree that return a `select_for_update()` queryset. */
  lockingQuerysetMethods: ReadonlySet<string>;
  /** Names of functions the configuration declares authorization checks (`check-helpers`). */
  checkHelpers: ReadonlySet<string>;
}

export interface BuildOptions {
  /** The scan root's directory name, for imports of the scanned package by its own name. */
  rootName?: string;
  /** Extra class, decorator or middleware names that authenticate with HTTP Basic. */
  basicAuthNames?: readonly string[];
  /** Extra models whose rows authorization decisions depend on (config `sensitive-models`). */
  authzModels?: readonly string[];
  /** Names of functions that are authorization checks (config `check-helpers`). */
  checkHelpers?: readonly string[];
}

export function buildProject(files: FileFacts[], options: BuildOptions = {}): Project {
  const index = new ModuleIndex(files);
  const settings = readSettings(files, index);
  const models = indexModels(files, options.rootName, options.authzModels ?? []);
  const calls = new CallGraph(index, files);
  const summaries = summarise(files, calls);
  const endpoints = buildRoutes(files, index, settings, { basicAuthNames: options.basicAuthNames ?? [] });
  const reach = new EndpointReach(endpoints, calls, index);
  return {
    files, index, settings, models, calls, summaries, endpoints, reach,
    writes: new WriteIndex(files, index, reach),
    basicAuthCode: basicAuthCode(files, index, { basicAuthNames: options.basicAuthNames ?? [] }),
    permissionChecks: permissionChecks(index, { index, calls, summaries, models }, endpoints, settings),
    authenticationOnlyDispatch: authenticationOnlyDispatch(files, index, settings),
    lockingQuerysetMethods: lockingQuerysetMethods(files, index),
    checkHelpers: new Set(options.checkHelpers ?? []),
  };
}

export function summaryOf(project: Project, file: FileFacts, fn: FunctionFacts): HelperSummary | undefined {
  return project.summaries.get(file.path)?.get(fn.name);
}
