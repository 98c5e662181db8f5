#!/usr/bin/env node
/**
 * `npm run bench:scaling`: does the work after extraction grow linearly? For each workload it
 * generates a project of size N and one of size 2N (one-line functions in one file, views with
 * findings and suppressions, Basic Auth code, classes, routed views, viewsets, models, files), extracts their facts
 * once, then times what runs on the main thread afterwards, outside any per-file time budget:
 * `buildProject` and `analyse` with every rule. It prints each time and the ratio 2N/N, and
 * exits 1 when a ratio reaches the limit (default 2.6: linear with room for noise; a quadratic
 * stage gives about 4). Not a test: timing belongs here, not in `npm test`.
 *
 *   npm run bench:scaling -- [--n N] [--runs R] [--limit X] [--only NAME,NAME]
 *   node scripts/scaling.mjs --write DIR [--n N]   writes the N-sized projects to DIR/NAME, times nothing
 *
 * Each size is timed R times (default 5), alternating N and 2N so that a change in machine
 * load hits both, and the fastest run counts. Needs a built dist/ (`npm run bench:scaling` builds).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(REPO, "dist");

/**
 * Each workload: `files(n)` returns the project's files as { path: source }. `scale` multiplies
 * the command line's N, so that every workload's N run takes a measurable time.
 */
const WORKLOADS = [
  {
    name: "one-line-functions",
    what: "N one-line functions in one file",
    scale: 1,
    files: (n) => ({ "app/views.py": lines(n, (i) => `def view_${i}(request): return request.user.is_staff and Invoice.objects.filter(pk=${i}).delete()`) }),
  },
  {
    name: "views-with-findings",
    what: "N views with a finding each, half suppressed, a quarter with an unused suppression",
    scale: 0.25,
    files: (n) => ({
      "app/models.py": "from django.db import models\n\n\nclass Invoice(models.Model):\n    status = models.CharField(max_length=10)\n",
      "app/views.py": `from .models import Invoice\n\n\n${lines(n, (i) => [
        `def view_${i}(request, pk):`,
        "    invoice = Invoice.objects.get(pk=pk)",
        "    if invoice.status != \"open\": return None",
        `    invoice.status = "paid"; invoice.save()${i % 2 === 0 ? "  # noqa: STC102" : i % 4 === 1 ? "  # noqa: STC101" : ""}\n`,
      ].join("\n"))}`,
    }),
  },
  {
    name: "basic-auth-methods",
    what: "one BasicAuthentication subclass with N one-line methods",
    scale: 1,
    files: (n) => ({
      "app/auth.py": `from rest_framework.authentication import BasicAuthentication\n\n\nclass LegacyBasic(BasicAuthentication):\n${lines(n, (i) => `    def helper_${i}(self, request): return request.user.is_active`)}`,
    }),
  },
  {
    name: "basic-auth-functions",
    what: "N functions that decode Basic credentials, each with a nested helper",
    scale: 0.5,
    files: (n) => ({
      "app/middleware.py": `import base64\n\n\n${lines(n, (i) => `def decode_${i}(request):\n    def inner(): return request.user.is_active\n    return base64.b64decode(request.META["HTTP_AUTHORIZATION"][6:])\n`)}`,
    }),
  },
  {
    name: "classes",
    what: "N classes in one file, each a method calling a sibling through self",
    scale: 0.5,
    files: (n) => ({
      "app/services.py": lines(n, (i) => `class Service${i}:\n    def run(self, request): return self.allowed(request)\n    def allowed(self, request): return request.user.has_perm("app.run_${i}")\n`),
    }),
  },
  {
    name: "routes",
    what: "N routed DRF class views with perform_update, one urls.py, one permission class",
    scale: 0.25,
    files: (n) => ({
      "app/permissions.py": "from rest_framework.permissions import BasePermission\n\n\nclass IsOpen(BasePermission):\n    def has_object_permission(self, request, view, obj): return obj.status == \"open\"\n",
      "app/views.py": `from rest_framework.generics import UpdateAPIView\nfrom .models import Invoice\nfrom .permissions import IsOpen\n\n\n${lines(n, (i) => `class View${i}(UpdateAPIView):\n    permission_classes = [IsOpen]\n    def perform_update(self, serializer): serializer.save()\n    def post(self, request, pk): return Invoice.objects.get(pk=pk).delete() if request.user.is_staff else None\n`)}`,
      "app/urls.py": `from django.urls import path\nfrom . import views\n\nurlpatterns = [\n${lines(n, (i) => `    path("v${i}/<int:pk>/", views.View${i}.as_view()),`)}]\n`,
      "app/models.py": "from django.db import models\n\n\nclass Invoice(models.Model):\n    status = models.CharField(max_length=10)\n\n\ndef close(invoice):\n    invoice.status = \"closed\"\n",
    }),
  },
  {
    name: "viewsets",
    what: "N ModelViewSets with an @action each, registered on one router",
    scale: 0.25,
    files: (n) => ({
      "app/views.py": `from rest_framework import viewsets\nfrom rest_framework.decorators import action\n\n\n${lines(n, (i) => `class Set${i}(viewsets.ModelViewSet):\n    @action(detail=True, methods=["post"])\n    def close(self, request, pk=None): return self.get_object().delete()\n`)}`,
      "app/urls.py": `from rest_framework.routers import DefaultRouter\nfrom . import views\n\nrouter = DefaultRouter()\n${lines(n, (i) => `router.register("s${i}", views.Set${i})`)}urlpatterns = router.urls\n`,
    }),
  },
  {
    name: "unknown-model-checks",
    what: "N models with a field each, N views checking objects of unknown model",
    scale: 0.5,
    files: (n) => ({
      "app/models.py": `from django.db import models\n\n\n${lines(n, (i) => `class Model${i}(models.Model):\n    state_${i} = models.CharField(max_length=10)\n\n\ndef close_${i}(obj):\n    obj.state_${i} = "closed"\n`)}`,
      "app/views.py": `from .lookup import fetch\n\n\n${lines(n, (i) => `def view_${i}(request, pk):\n    obj = fetch(pk)\n    if obj.missing_${i} != "open": return None\n    obj.delete()\n`)}`,
    }),
  },
  {
    name: "files",
    what: "N files of one view each",
    scale: 0.25,
    files: (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`app/v${i}.py`, "def view(request): return request.user.is_staff\n"])),
  },
];

const options = parseOptions(process.argv.slice(2));
if (options.write !== null) {
  for (const workload of WORKLOADS.filter((w) => options.only === null || options.only.includes(w.name))) {
    for (const [path, text] of Object.entries(workload.files(Math.max(1, Math.round(options.n * workload.scale))))) {
      const file = join(options.write, workload.name, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
    }
  }
  process.exit(0);
}
if (!existsSync(join(DIST, "run/scan.js"))) {
  console.error("dist/ is missing: run `npm run build` (npm run bench:scaling does)");
  process.exit(2);
}
const from = (module) => import(pathToFileURL(join(DIST, module)).href);
const { extractFileFacts } = await from("extract/extractFileFacts.js");
const { buildProject } = await from("project/buildProject.js");
const { analyse } = await from("analysis/engine.js");
const { RULES, findRule } = await from("rules/registry.js");

console.log(`stalecheck scaling: CPU time after extraction (buildProject + analyse, every rule), N against 2N; fastest of ${options.runs} runs; limit ${options.limit}`);
console.log(`node ${process.version}, N = ${options.n} × each workload's scale\n`);
let failed = 0;
for (const workload of WORKLOADS.filter((w) => options.only === null || options.only.includes(w.name))) {
  const n = Math.max(1, Math.round(options.n * workload.scale));
  const small = await factsOf(workload.files(n));
  const large = await factsOf(workload.files(2 * n));
  const best = [Infinity, Infinity];
  const bestWall = [Infinity, Infinity];
  const findings = [0, 0];
  for (let run = 0; run < options.runs; run++) {
    for (const [index, facts] of [small, large].entries()) {
      const { ms, wallMs, count } = timeAnalysis(facts);
      best[index] = Math.min(best[index], ms);
      bestWall[index] = Math.min(bestWall[index], wallMs);
      findings[index] = count;
    }
  }
  const ratio = best[1] / best[0];
  const ok = ratio < options.limit;
  if (!ok) failed++;
  console.log(
    `${ok ? "ok  " : "FAIL"} ${workload.name.padEnd(21)} N=${String(n).padStart(6)}: ${fmt(best[0])}  2N: ${fmt(best[1])}  ratio ${ratio.toFixed(2)}` +
      `  (wall ${fmt(bestWall[0]).trim()} / ${fmt(bestWall[1]).trim()}; ${findings[0]}/${findings[1]} findings; ${workload.what})`,
  );
}
if (failed > 0) {
  console.log(`\n${failed} workload(s) grew faster than ${options.limit}× when their size doubled.`);
  process.exit(1);
}
console.log(`\nevery workload grew less than ${options.limit}× when its size doubled.`);

/** CPU time of this process (the stages run on this one thread), less disturbed by other load than wall time. */
function timeAnalysis(original) {
  // Fresh objects every run: stages memoise per FileFacts object, and a warm run would hide their cost.
  const facts = structuredClone(original);
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const project = buildProject(facts, { rootName: "app", basicAuthNames: [], authzModels: [] });
  const findings = analyse(project, { rules: RULES, findRule, includeNonRequest: false });
  const used = process.cpuUsage(cpu);
  return { ms: (used.user + used.system) / 1000, wallMs: performance.now() - started, count: findings.length };
}

async function factsOf(files) {
  const out = [];
  for (const [path, text] of Object.entries(files)) out.push(await extractFileFacts(path, text));
  for (const facts of out) {
    if (facts.problems.length > 0) throw new Error(`generated ${facts.path} does not parse: ${facts.problems[0].message}`);
  }
  return out;
}

function lines(n, line) {
  return `${Array.from({ length: n }, (_, i) => line(i)).join("\n")}\n`;
}

function fmt(ms) {
  return `${ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`}`.padStart(8);
}

function parseOptions(argv) {
  const out = { n: 20_000, runs: 5, limit: 2.6, only: null, write: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--n") out.n = Number(value());
    else if (arg === "--runs") out.runs = Number(value());
    else if (arg === "--limit") out.limit = Number(value());
    else if (arg === "--only") out.only = value().split(",");
    else if (arg === "--write") out.write = resolve(value());
    else {
      console.error(`unknown option ${arg}\nusage: node scripts/scaling.mjs [--n N] [--runs R] [--limit X] [--only NAME,NAME] [--write DIR]`);
      process.exit(2);
    }
  }
  if (!(Number.isInteger(out.n) && out.n > 0) || !(Number.isInteger(out.runs) && out.runs > 0) || !(out.limit > 1)) {
    console.error("--n and --runs must be positive integers, --limit a number above 1");
    process.exit(2);
  }
  return out;
}
