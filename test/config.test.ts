/**
 * Configuration: finding the file, validating every key, and flags over file over defaults,
 * through the CLI entry point (in-process) on temporary projects.
 */
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CONFIG_KEYS, ConfigError, findConfigFile, loadConfig, readConfigFile } from "../src/config/config.js";
import { MODELS, redeemView, removeTempProjects, tempProject } from "./helpers/tempProject.js";
import { runCli } from "./helpers/runCli.js";

afterAll(removeTempProjects);

const run = runCli;

async function reported(argv: string[], cwd: string): Promise<string[]> {
  const { code, stdout, stderr } = await run([...argv, "--format", "json"], cwd);
  expect(code, stderr).not.toBe(2);
  return (JSON.parse(stdout) as { findings: { file: string; line: number; rule: string }[] }).findings.map((f) => `${f.file}:${f.line} ${f.rule}`);
}

/** Reads a configuration written as TOML text; returns the error message when it is rejected. */
function configError(toml: string, name = "stalecheck.toml"): string {
  const dir = tempProject({ [name]: toml });
  try {
    readConfigFile(join(dir, name), dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("configuration was accepted");
}

const HELPER_VIEWS = `import requests
from django.http import JsonResponse
from myapp.auth import gatekeeper
from myapp.db import locked_atomic
from .models import Invoice, Voucher


def delete_invoice(request, pk):
    if not gatekeeper(request.user, "billing"):
        return JsonResponse({}, status=403)
    requests.post("https://audit.example.com", json={"pk": pk})
    Invoice.objects.filter(pk=pk).delete()
    return JsonResponse({"ok": True})


@locked_atomic
def lock_inside(request, pk):
    voucher = Voucher.objects.select_for_update().get(pk=pk)
    voucher.used = True
    voucher.save()
    return JsonResponse({"ok": True})
`;

describe("finding the configuration", () => {
  it("takes the nearest stalecheck.toml, or pyproject.toml with a [tool.stalecheck] table, looking upwards", () => {
    const dir = tempProject({
      "pyproject.toml": "[tool.stalecheck]\nselect = [\"STC1\"]\n",
      "svc/pyproject.toml": "[project]\nname = \"svc\"\n",
      "svc/app/views.py": "",
      "other/stalecheck.toml": "select = [\"STC102\"]\n",
      "other/pyproject.toml": "[tool.stalecheck]\nselect = [\"STC101\"]\n",
    });
    expect(findConfigFile(join(dir, "svc", "app"))).toBe(join(dir, "pyproject.toml"));
    expect(findConfigFile(join(dir, "other"))).toBe(join(dir, "other", "stalecheck.toml"));
    expect(loadConfig({ cwd: dir, paths: ["svc/app/views.py"] }).config).toEqual({ select: ["STC1"] });
    expect(loadConfig({ cwd: dir, paths: ["other"] }).config).toEqual({ select: ["STC102"] });
    // Several paths: from the working directory.
    expect(loadConfig({ cwd: join(dir, "other"), paths: ["a.py", "b.py"] }).file).toBe(join(dir, "other", "stalecheck.toml"));
  });

  it("reads every documented key", () => {
    const dir = tempProject({
      "pyproject.toml": `[tool.stalecheck]
select = ["STC1", "unused-suppression"]
ignore = ["STC108"]
exclude = ["legacy", "**/generated/*.py"]
fail-on = "high"
include-non-request = true
strict = true
max-file-size = "2MB"
baseline = ".stalecheck-baseline.json"
check-helpers = ["myapp.auth.require_admin", "user_may_edit"]
sensitive-models = ["Wallet", "billing.models.Seat"]
basic-auth-classes = ["myapp.auth.LegacyBasicAuthentication"]
basic-auth-middleware = ["myapp.middleware.BasicAuthMiddleware"]
transaction-decorators = ["myapp.db.locked_atomic"]

[tool.stalecheck.per-file-ignores]
"billing/legacy_*.py" = ["STC101", "check-then-create"]
`,
    });
    const config = readConfigFile(join(dir, "pyproject.toml"), dir);
    expect(config).toEqual({
      select: ["STC1", "unused-suppression"], ignore: ["STC108"], exclude: ["legacy", "**/generated/*.py"], failOn: "high",
      includeNonRequest: true, strict: true, maxFileBytes: 2 * 1024 * 1024, baseline: join(dir, ".stalecheck-baseline.json"),
      checkHelpers: ["myapp.auth.require_admin", "user_may_edit"], sensitiveModels: ["Wallet", "billing.models.Seat"],
      basicAuthClasses: ["myapp.auth.LegacyBasicAuthentication"], basicAuthMiddleware: ["myapp.middleware.BasicAuthMiddleware"],
      transactionNames: ["myapp.db.locked_atomic"], perFileIgnores: { "billing/legacy_*.py": ["STC101", "check-then-create"] },
    });
    expect(CONFIG_KEYS).toHaveLength(14);
  });
});

describe("bad configuration", () => {
  it("names an unknown key and the key that was probably meant", () => {
    expect(configError("slect = [\"STC101\"]\n")).toMatch(/^unknown key "slect" in .*stalecheck\.toml \(did you mean "select"\?\)/);
    expect(configError("fail_on = \"high\"\n")).toContain("(did you mean \"fail-on\"?)");
    expect(configError("[tool.stalecheck]\nexclud = []\n", "pyproject.toml")).toMatch(/unknown key "exclud" in \[tool\.stalecheck\] in .*pyproject\.toml \(did you mean "exclude"\?\)/);
    expect(configError("colour = true\n")).toContain("valid keys: select, ignore, exclude, fail-on");
    expect(configError("[tool.stalecheck]\nselect = []\n")).toContain("stalecheck.toml takes its keys at the top level");
  });

  it("names the key of a bad value and, for a typo, the value meant", () => {
    expect(configError("fail-on = \"hgh\"\n")).toMatch(/"fail-on" must be one of low, medium, high, critical, not "hgh" \(did you mean "high"\?\)/);
    expect(configError("select = \"STC101\"\n")).toContain("\"select\" must be a list of non-empty strings");
    expect(configError("select = [\"STC10l\"]\n")).toMatch(/"select" names no rule: "STC10l" \(did you mean "STC101"\?\)/);
    expect(configError("ignore = [\"missing-row-lok\"]\n")).toContain("(did you mean \"missing-row-lock\"?)");
    expect(configError("include-non-request = \"yes\"\n")).toContain("\"include-non-request\" must be true or false, not \"yes\"");
    expect(configError("max-file-size = \"huge\"\n")).toContain("\"max-file-size\" must be a size such as \"5MB\"");
    expect(configError("check-helpers = [\"not a name\"]\n")).toContain("\"check-helpers\": \"not a name\" is not a Python name");
    expect(configError("[per-file-ignores]\n\"a.py\" = [\"STC9\"]\n")).toContain("\"per-file-ignores.\"a.py\"\" names no rule: \"STC9\"");
  });

  it("reports TOML syntax errors with the file, line and column", () => {
    expect(configError("select = [\"STC101\"\n")).toMatch(/stalecheck\.toml:2:1: not valid TOML: /);
    expect(configError("[tool.stalecheck\n", "pyproject.toml")).toMatch(/pyproject\.toml:1:17: not valid TOML: /);
  });

  it("shows the line of a TOML syntax error with a caret under the column", async () => {
    const dir = tempProject({ "pyproject.toml": "[tool.stalecheck]\nfail-on = \"low\"\nselect = [STC101]\n", "app.py": "" });
    const run = await runCli(["."], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("stalecheck: pyproject.toml:3:11: not valid TOML: invalid value\n  3 | select = [STC101]\n    |           ^\n");
  });

  it("exits 2 from the CLI, naming the key", async () => {
    const dir = tempProject({ "stalecheck.toml": "fail-on = \"hgh\"\n", "app/views.py": "" });
    const { code, stderr } = await run(["."], dir);
    expect(code).toBe(2);
    expect(stderr).toContain("\"fail-on\" must be one of");
    const missing = await run([".", "--config", "nope.toml"], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--config nope.toml: no such file");
  });
});

describe("configuration in a scan", () => {
  const project = (config: string) => tempProject({
    "stalecheck.toml": config, "app/models.py": MODELS, "app/views.py": redeemView(),
    "app/legacy/old.py": redeemView("old"), "app/tests/test_views.py": redeemView("test_redeem"),
  });

  it("applies select and ignore, and lets flags override them", async () => {
    const dir = project("select = [\"STC101\"]\n");
    expect(await reported(["."], dir)).toEqual([]);
    expect(await reported([".", "--select", "STC102"], dir)).toEqual(["app/legacy/old.py:10 STC102", "app/views.py:10 STC102"]);
    const ignoring = project("ignore = [\"missing-row-lock\"]\n");
    expect(await reported(["."], ignoring)).toEqual([]);
    expect(await reported([".", "--ignore", "STC108"], ignoring)).toHaveLength(2);
  });

  it("applies fail-on to the exit code, under --fail-on", async () => {
    // Nothing here is reachable with Basic Auth, so no finding is critical.
    const dir = project("fail-on = \"critical\"\n");
    expect((await run(["."], dir)).code).toBe(0);
    expect((await run([".", "--fail-on", "low"], dir)).code).toBe(1);
    expect((await run(["."], project(""))).code).toBe(1);
  });

  it("excludes paths gitignore-style, relative to the config file, even when named explicitly", async () => {
    const dir = project("exclude = [\"legacy\"]\n");
    expect(await reported(["."], dir)).toEqual(["app/views.py:10 STC102"]);
    expect(await reported(["app/legacy/old.py", "app/views.py"], dir)).toEqual(["app/views.py:10 STC102"]);
    // Scanning a subdirectory: the config file above it still anchors the globs.
    const anchored = project("exclude = [\"app/legacy/*.py\"]\n");
    expect(await reported(["app"], anchored)).toEqual(["views.py:10 STC102"]);
    // --exclude replaces the configuration's list.
    expect(await reported([".", "--exclude", "app/views.py"], dir)).toEqual(["app/legacy/old.py:10 STC102"]);
  });

  it("does not enter an excluded directory: its unreadable files are not reported", async () => {
    const errorsOf = async (config: string) => {
      const dir = tempProject({ "stalecheck.toml": config, "app/views.py": "x = 1\n", "vendor/blob.py": "\u0000binary" });
      symlinkSync("/etc/hostname", join(dir, "vendor", "outside.py"));
      const { stdout } = await run([".", "--format", "json"], dir);
      return (JSON.parse(stdout).errors as { file: string }[]).map((e) => e.file);
    };
    expect(await errorsOf("")).toEqual(["vendor/blob.py", "vendor/outside.py"]);
    expect(await errorsOf("exclude = [\"vendor\"]\n")).toEqual([]);
  });

  it("applies per-file-ignores by glob", async () => {
    const dir = project("[per-file-ignores]\n\"app/legacy/*.py\" = [\"STC1\"]\n");
    expect(await reported(["."], dir)).toEqual(["app/views.py:10 STC102"]);
    const byName = project("[per-file-ignores]\n\"views.py\" = [\"missing-row-lock\"]\n");
    expect(await reported(["."], byName)).toEqual(["app/legacy/old.py:10 STC102"]);
  });

  it("turns on include-non-request and reads max-file-size", async () => {
    expect(await reported(["."], project("include-non-request = true\n"))).toContain("app/tests/test_views.py:10 STC102");
    const small = project("max-file-size = 100\n");
    const { stdout } = await run([".", "--format", "json"], small);
    expect(JSON.parse(stdout).errors.length).toBeGreaterThan(0);
    expect(await reported([".", "--max-file-size", "5MB"], small)).toHaveLength(2);
  });

  it("reads --config FILE instead of the nearest file", async () => {
    const dir = project("select = [\"STC101\"]\n");
    const other = tempProject({ "strict.toml": "select = [\"STC102\"]\nexclude = [\"app/legacy\"]\n" });
    // A file given with --config is a shared configuration: its globs are relative to the working directory.
    expect(await reported([".", "--config", join(other, "strict.toml")], dir)).toEqual(["app/views.py:10 STC102"]);
  });

  it("extends the vocabulary: check helpers and transaction decorators", async () => {
    const plain = tempProject({ "app/models.py": MODELS, "app/views.py": HELPER_VIEWS });
    expect(await reported(["."], plain)).toEqual(["app/views.py:18 STC105"]);
    const configured = tempProject({
      "pyproject.toml": "[tool.stalecheck]\ncheck-helpers = [\"myapp.auth.gatekeeper\"]\ntransaction-decorators = [\"myapp.db.locked_atomic\"]\n",
      "app/models.py": MODELS, "app/views.py": HELPER_VIEWS,
    });
    expect(await reported(["."], configured)).toEqual(["app/views.py:12 STC101"]);
    const bare = tempProject({ "stalecheck.toml": "check-helpers = [\"gatekeeper\"]\n", "app/models.py": MODELS, "app/views.py": HELPER_VIEWS });
    expect(await reported(["."], bare)).toEqual(["app/views.py:12 STC101", "app/views.py:18 STC105"]);
  });

  it("extends the vocabulary: a session flag stored under a check helper is a stale decision where it is trusted", async () => {
    const files = {
      "app/models.py": MODELS,
      "app/views.py": `from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from myapp.auth import gatekeeper
from .models import Voucher


def unlock_vouchers(request):
    if not gatekeeper(request.user, "vouchers"):
        raise PermissionDenied
    request.session["vouchers_unlocked"] = True
    return redirect("/")


def void_voucher(request, pk):
    if not request.session.get("vouchers_unlocked"):
        raise PermissionDenied
    Voucher.objects.filter(pk=pk).update(used=True)
    return HttpResponse(status=204)


def void_voucher_rechecked(request, pk):
    if not request.session.get("vouchers_unlocked"):
        raise PermissionDenied
    if not gatekeeper(request.user, "vouchers"):
        raise PermissionDenied
    Voucher.objects.filter(pk=pk).update(used=True)
    return HttpResponse(status=204)
`,
    };
    expect(await reported(["."], tempProject(files))).toEqual([]);
    const configured = tempProject({ ...files, "stalecheck.toml": "check-helpers = [\"myapp.auth.gatekeeper\"]\n" });
    // The look-alike that asks the helper again where the flag is used is not STC104's (its
    // re-check outside a transaction is STC101's, line 27, raced only by a revocation: --strict).
    expect(await reported(["."], configured)).toEqual(["app/views.py:18 STC104"]);
    expect(await reported([".", "--strict"], configured)).toEqual(["app/views.py:18 STC104", "app/views.py:27 STC101"]);
  });

  it("extends the vocabulary: Basic Auth classes and middleware make endpoints Basic-reachable", async () => {
    const files = {
      "proj/settings.py": `ROOT_URLCONF = "proj.urls"\nMIDDLEWARE = ["django.middleware.common.CommonMiddleware", "myauth.mw.HeaderAuthMiddleware"]\n` +
        `REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"]}\n`,
      "proj/urls.py": `from django.urls import path\nfrom app import views\n\nurlpatterns = [path("redeem/<str:code>/", views.RedeemView.as_view())]\n`,
      "app/models.py": MODELS,
      "app/views.py": `import requests
from rest_framework.response import Response
from rest_framework.views import APIView
from myauth.legacy import LegacyTokenAuth
from .models import Voucher


class RedeemView(APIView):
    authentication_classes = [LegacyTokenAuth]

    def post(self, request, code):
        voucher = Voucher.objects.get(code=code)
        if voucher.used:
            return Response({"error": "already used"}, status=409)
        requests.post("https://audit.example.com", json={"code": code})
        voucher.used = True
        voucher.save()
        return Response({"ok": True})
`,
    };
    const basic = async (config: string) => {
      const dir = tempProject({ ...files, "stalecheck.toml": config });
      const { stdout } = await run([".", "--format", "json"], dir);
      return (JSON.parse(stdout).findings as { rule: string; severity: string; basicAuth: boolean; route: string }[]).map((f) => `${f.rule} ${f.severity} ${f.basicAuth} ${f.route}`);
    };
    expect(await basic("")).toEqual(["STC102 high false /redeem/<str:code>/"]);
    expect(await basic("basic-auth-classes = [\"myauth.legacy.LegacyTokenAuth\"]\n")).toEqual(["STC102 critical true /redeem/<str:code>/"]);
    expect(await basic("basic-auth-middleware = [\"myauth.mw.HeaderAuthMiddleware\"]\n")).toEqual(["STC102 critical true /redeem/<str:code>/"]);

    // `stalecheck endpoints` reads the same configuration: the reach and the findings agree.
    const listed = async (config: string, ...extra: string[]) => {
      const dir = tempProject({ ...files, "stalecheck.toml": config });
      const { code, stdout } = await run(["endpoints", ".", "--format", "json", ...extra], dir);
      expect(code).toBe(0);
      return (JSON.parse(stdout).endpoints as { route: string; basicAuth: boolean; findings: number }[]).map((e) => `${e.route} ${e.basicAuth} ${e.findings}`);
    };
    expect(await listed("")).toEqual(["/redeem/<str:code>/ false 1"]);
    expect(await listed("basic-auth-classes = [\"myauth.legacy.LegacyTokenAuth\"]\n")).toEqual(["/redeem/<str:code>/ true 1"]);
    expect(await listed("basic-auth-classes = [\"myauth.legacy.LegacyTokenAuth\"]\n", "--select", "STC101")).toEqual(["/redeem/<str:code>/ true 0"]);
    expect(await listed("exclude = [\"app/views.py\"]\n")).toEqual([]);
  });

  it("refuses check-only options and report formats for `stalecheck endpoints`", async () => {
    const dir = tempProject({ "app/views.py": "x = 1\n" });
    for (const argv of [["endpoints", "--baseline", "b.json"], ["endpoints", "--fail-on", "high"], ["endpoints", "--format", "sarif"]]) {
      const { code, stderr } = await run(argv, dir);
      expect(code, argv.join(" ")).toBe(2);
      expect(stderr).toMatch(/endpoints/);
    }
  });

  it("passes sensitive-models on to scan()", async () => {
    const { planCheck } = await import("../src/cli/checkRun.js");
    const { parseArgs } = await import("../src/cli/args.js");
    const dir = tempProject({ "stalecheck.toml": "sensitive-models = [\"Wallet\"]\n" });
    const plan = planCheck(parseArgs(["."]) as Parameters<typeof planCheck>[0], dir);
    expect(plan.scan.sensitiveModels).toEqual(["Wallet"]);
    expect(plan.configFile).toBe(join(dir, "stalecheck.toml"));
  });
});

describe("sensitive-models", () => {
  const view = `from django.http import HttpResponseForbidden, JsonResponse

from .models import Document, Seat
from .storage import archive


def close_document(request, org_id, pk):
    if not Seat.objects.filter(user=request.user, org_id=org_id, role="editor").exists():
        return HttpResponseForbidden()
    archive(pk)
    Document.objects.filter(pk=pk).update(closed=True)
    return JsonResponse({"closed": True})
`;

  it("makes a membership query on a configured model an authorization check", async () => {
    const plain = tempProject({ "docs/__init__.py": "", "docs/views.py": view });
    expect(await reported(["."], plain)).toEqual([]);
    const configured = tempProject({ "stalecheck.toml": 'sensitive-models = ["Seat"]\n', "docs/__init__.py": "", "docs/views.py": view });
    expect(await reported(["."], configured)).toEqual(["docs/views.py:11 STC101"]);
  });
});
