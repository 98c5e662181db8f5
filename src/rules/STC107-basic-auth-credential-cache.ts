import type { FunctionModel } from "../analysis/model.js";
import type { Rule, RuleHit } from "../analysis/rule.js";
import { decoratorSite } from "../analysis/scopes.js";
import type { FileFacts, FunctionFacts, SourceSite } from "../extract/facts.js";
import type { Project } from "../project/buildProject.js";
import { ancestorNames, classOf } from "../project/classes.js";

const PROCESS_CACHE_DECORATOR = /^(functools\.)?(lru_cache|cache)(\(|$)/;

export const STC107: Rule = {
  meta: {
    code: "STC107",
    name: "basic-auth-credential-cache",
    defaultSeverity: "high",
    docs: {
      summary:
        "A custom HTTP Basic Auth class, middleware or decorator caches credential checks or user objects across requests, or never checks `is_active`, so revoked or deactivated users keep access.",
      why:
        "Basic Auth re-sends the password with every request precisely so that every request is re-checked. DRF's `BasicAuthentication` calls `authenticate()` each time and refuses inactive users. " +
        "A hand-written class that memoises `(username, password) → user` in a dict, `cache.set()` or `lru_cache` turns a password change or a deactivation into a no-op until the process restarts; " +
        "one that looks the user up and calls `check_password()` itself, without testing `is_active`, lets deactivated accounts in forever.",
      example: [
        "import base64",
        "from django.contrib.auth.models import User",
        "from rest_framework import authentication, exceptions",
        "",
        "_VERIFIED = {}",
        "",
        "class CachedBasicAuthentication(authentication.BaseAuthentication):",
        "    def authenticate(self, request):",
        "        header = request.META.get(\"HTTP_AUTHORIZATION\", \"\")",
        "        if not header.startswith(\"Basic \"):",
        "            return None",
        "        username, password = base64.b64decode(header[6:]).decode().split(\":\", 1)",
        "        if (username, password) in _VERIFIED:",
        "            return (_VERIFIED[(username, password)], None)",
        "        user = authentication.get_user_model().objects.get(username=username)",
        "        if not user.is_active or not user.check_password(password):",
        "            raise exceptions.AuthenticationFailed(\"bad credentials\")",
        "        _VERIFIED[(username, password)] = user  # expect: STC107",
        "        return (user, None)",
      ].join("\n"),
      useInstead: [
        "import base64",
        "from django.contrib.auth import authenticate",
        "from rest_framework import authentication, exceptions",
        "",
        "class HeaderBasicAuthentication(authentication.BaseAuthentication):",
        "    def authenticate(self, request):",
        "        header = request.META.get(\"HTTP_AUTHORIZATION\", \"\")",
        "        if not header.startswith(\"Basic \"):",
        "            return None",
        "        username, password = base64.b64decode(header[6:]).decode().split(\":\", 1)",
        "        # authenticate() runs the backends on every request; ModelBackend refuses inactive users.",
        "        user = authenticate(request=request, username=username, password=password)",
        "        if user is None:",
        "            raise exceptions.AuthenticationFailed(\"bad credentials\")",
        "        return (user, None)",
      ].join("\n"),
      knownLimitations: [
        "Code is recognised as Basic Auth when it reads the Authorization header and base64-decodes it, or subclasses DRF's BasicAuthentication; credential checks delegated to another module are not followed.",
        "A cache is recognised as a module- or class-level dict, `cache.set()`, or `lru_cache`/`cache` on a method or function of that code.",
      ],
      references: [
        { title: "CWE-613: Insufficient Session Expiration", url: "https://cwe.mitre.org/data/definitions/613.html" },
        { title: "CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition", url: "https://cwe.mitre.org/data/definitions/367.html" },
        { title: "DRF: BasicAuthentication", url: "https://www.django-rest-framework.org/api-guide/authentication/#basicauthentication" },
        { title: "Django: authenticate() and is_active", url: "https://docs.djangoproject.com/en/stable/topics/auth/customizing/#django.contrib.auth.backends.ModelBackend.user_can_authenticate" },
      ],
      fixes: {
        available: [],
        none: "dropping a credential cache or adding an `is_active` test changes an authentication class's behaviour in ways only its author can judge.",
      },
    },
  },
  // A project hook only to index each file's functions once (enclosing functions, classes that test is_active).
  checkProject({ project }) {
    // The engine goes file by file: the scopes of the file at hand are enough.
    let current: { file: FileFacts; scopes: FunctionScopes } | null = null;
    return (model) => {
      if (current?.file !== model.file) current = { file: model.file, scopes: functionScopes(model.file) };
      return hitsIn(model, project, current.scopes);
    };
  },
};

function hitsIn(model: FunctionModel, project: Project, scopes: FunctionScopes): RuleHit[] {
  const scope = basicAuthScope(model, project, scopes);
  if (!scope) return [];
  const hits: RuleHit[] = [];
  for (const event of model.events) {
    if (event.type !== "store") continue;
    const shared = event.target === "cache" || event.target.startsWith("class:") || model.file.moduleDicts.includes(event.target);
    if (!shared) continue;
    hits.push(cacheHit(event.site, event.target === "cache" ? "the Django cache" : event.target.startsWith("class:") ? `the class attribute \`${event.target.slice(6)}\`` : `the module-level dict \`${event.target}\``, scope.name));
  }
  const decorator = model.fn.decorators.find((d) => PROCESS_CACHE_DECORATOR.test(d));
  if (decorator) hits.push(cacheHit(decoratorSite(model.fn, decorator), `\`@${decorator}\``, scope.name));
  const facts = model.fn.credentialFacts;
  const checkPassword = model.events.find((e) => e.type === "call" && /(^|\.)check_password$/.test(e.callee));
  const overridesCredentials = model.fn.name.endsWith(".authenticate_credentials") && scope.basicSubclass;
  // `check_user(user)` and the like: a helper it calls that tests is_active counts as its own test.
  const helperTestsActive = model.fn.events.some((e) => e.type === "call" && project.calls.targetOf(model.file, model.fn, e)?.fn.readsIsActive === true);
  if (facts && !scope.isActive && !helperTestsActive && !facts.authenticate && !facts.superCredentials && (checkPassword || overridesCredentials)) {
    const site = checkPassword?.site ?? model.fn.site;
    hits.push({
      severity: "high",
      confidence: "high",
      check: null,
      use: { site, kind: "authorize" },
      message: `${scope.name} verifies Basic Auth credentials itself on line ${site.line} and never tests \`is_active\`: a deactivated user whose password still matches keeps access.`,
      remediation: "Authenticate with `django.contrib.auth.authenticate(request=request, username=…, password=…)` (ModelBackend refuses inactive users), or test `user.is_active` and raise AuthenticationFailed before returning the user.",
    });
  }
  return hits;
}

function cacheHit(site: SourceSite, where: string, owner: string): RuleHit {
  return {
    severity: "high",
    confidence: "high",
    check: null,
    use: { site, kind: "cache" },
    message: `${owner} authenticates HTTP Basic credentials and stores the result in ${where} on line ${site.line}, which outlives the request: after a password change or a deactivation the cached entry still lets the old credentials in.`,
    remediation: "Check the credentials on every request (that is what Basic Auth is for): drop the cache, or if the hash cost matters, cache only with a short expiry and clear the entry when the user's password, is_active or permissions change.",
  };
}

/** The Basic Auth code this function belongs to: its class or itself; null when it is not Basic Auth code. */
function basicAuthScope(model: FunctionModel, project: Project, scopes: FunctionScopes): { name: string; isActive: boolean; basicSubclass: boolean } | null {
  const cls = classOf(project.index, model.file, model.fn);
  if (cls) {
    const basicSubclass = ancestorNames(project.index, model.file, cls).slice(1).includes("BasicAuthentication");
    if (!cls.decodesBasicAuth && !basicSubclass) return null;
    return { name: `\`${cls.name}\``, isActive: scopes.activeClasses.has(cls.name), basicSubclass };
  }
  // A function middleware or decorator: the outermost enclosing function that decodes the header.
  const outer = scopes.outermost(model.fn);
  const owner = [outer, model.fn].find((f) => f?.decodesBasicAuth);
  if (!owner) return null;
  return { name: `\`${owner.name}\``, isActive: scopes.activeFamilies.has(owner.name), basicSubclass: false };
}

interface FunctionScopes {
  /** The first function in definition order named as `fn` or as one of the functions it is nested in. */
  outermost: (fn: FunctionFacts) => FunctionFacts | undefined;
  /** Names N such that a function named N, or nested in one named N (`N.inner`), tests `is_active`. */
  activeFamilies: ReadonlySet<string>;
  /** Classes with a method that tests `is_active`. */
  activeClasses: ReadonlySet<string>;
}

/**
 * A file's functions indexed once: finding the enclosing function, its family or its class's
 * methods with a walk over every function of the file, for each function, was O(N²)
 * (40,000 one-line functions: 10 s).
 */
function functionScopes(file: FileFacts): FunctionScopes {
  const first = new Map<string, { fn: FunctionFacts; at: number }>();
  const activeFamilies = new Set<string>();
  const activeClasses = new Set<string>();
  file.functions.forEach((fn, at) => {
    if (!first.has(fn.name)) first.set(fn.name, { fn, at });
    if (!fn.credentialFacts?.isActive) return;
    for (const name of enclosingNames(fn.name)) activeFamilies.add(name);
    if (fn.className !== null) activeClasses.add(fn.className);
  });
  const outermost = (fn: FunctionFacts) => {
    let best: { fn: FunctionFacts; at: number } | undefined;
    for (const name of enclosingNames(fn.name)) {
      const candidate = first.get(name);
      if (candidate && (!best || candidate.at < best.at)) best = candidate;
    }
    return best?.fn;
  };
  return { outermost, activeFamilies, activeClasses };
}

/** `a.b.c` → `a`, `a.b`, `a.b.c`: the name and every dotted prefix of it. */
function enclosingNames(name: string): string[] {
  const out: string[] = [];
  for (let dot = name.indexOf("."); dot >= 0; dot = name.indexOf(".", dot + 1)) out.push(name.slice(0, dot));
  out.push(name);
  return out;
}
