/**
 * Builds the event model of one function: an ordered list of checks, fetches, writes,
 * disclosures, calls and slow work, with the regions (atomic blocks, loops) they sit in and
 * the ranges each check guards. This module describes the function (signature, decorators,
 * whether it handles requests); `function/statements.ts` walks its body, and the recognisers
 * under `function/` classify what it calls.
 */
import type { SyntaxNode } from "../parse/parser.js";
import type { FunctionFacts } from "./facts.js";
import type { FileContext } from "./function/builder.js";
import { StatementWalker } from "./function/statements.js";
import type { FunctionSite } from "./moduleFacts.js";
import { BASIC_AUTH_DECODING } from "./moduleFacts.js";
import { field, span } from "./syntax.js";

export type { FileContext };

const HANDLER_NAMES = new Set([
  "get", "post", "put", "patch", "delete", "head", "options", "list", "create", "retrieve", "update",
  "partial_update", "destroy", "perform_create", "perform_update", "perform_destroy", "form_valid", "dispatch",
]);
const VIEW_DECORATORS = /(^|\.)(api_view|action|require_http_methods|require_POST|require_GET|require_safe|login_required|permission_required|user_passes_test|staff_member_required|csrf_exempt)$/;
const VIEW_BASES = /View|ViewSet|Mixin|APIView/;

export function extractFunction(site: FunctionSite, ctx: FileContext): FunctionFacts {
  const facts = describeFunction(site, ctx);
  new StatementWalker(site, ctx, facts).run();
  return facts;
}

/** The function's facts before its body is walked: name, parameters, decorators, text facts. */
function describeFunction(site: FunctionSite, ctx: FileContext): FunctionFacts {
  const node = site.node;
  const params = readParams(field(node, "parameters"));
  const decorators = site.decorators.map((d) => (d.namedChildren[0] ? d.namedChildren[0].text : d.text));
  const shortName = site.qualifiedName.split(".").pop() ?? "";
  const firstArg = site.className !== null && (params[0] === "self" || params[0] === "cls") ? params[1] : params[0];
  const viewLike =
    firstArg === "request" ||
    decorators.some((d) => VIEW_DECORATORS.test(d.split("(")[0]!)) ||
    (site.className !== null && site.classBases.some((b) => VIEW_BASES.test(b)) && HANDLER_NAMES.has(shortName));
  return {
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
    readsIsActive: /\bis_active\b/.test(node.text),
    nonAtomicRequests: decorators.some((d) => /non_atomic_requests/.test(d)),
    returnsLockedQuery: false,
    returnsCheck: null,
    returnCallees: [],
    denies: false,
    fieldWrites: [],
    events: [],
    regions: [],
    defs: [],
  };
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
