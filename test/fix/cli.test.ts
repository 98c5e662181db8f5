/** `check --fix`, `--unsafe-fixes` and `--diff` through the CLI: what is written, printed and returned. */
import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/runCli.js";
import { removeTempProjects, tempProject } from "../helpers/tempProject.js";

afterAll(removeTempProjects);

const MODELS = `from django.db import models


class Voucher(models.Model):
    code = models.CharField(max_length=32)
    used = models.BooleanField(default=False)
`;

// Under --strict in the runs below: `void` is raced only by an administrator revoking the permission.
const VIEWS = `from django.http import HttpResponse

from .models import Redemption, Voucher


def redeem(request, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return HttpResponse(status=409)
    voucher.used = True
    voucher.save()
    Redemption.objects.create(voucher=voucher, user=request.user)
    return HttpResponse(status=204)


def void(request, pk):
    if not request.user.has_perm("app.delete_voucher"):
        return HttpResponse(status=403)
    Voucher.objects.filter(pk=pk).delete()
    return HttpResponse(status=204)
`;

const project = () => tempProject({ "app/models.py": MODELS, "app/views.py": VIEWS });

describe("check --diff", () => {
  it("prints the safe fixes as a unified diff, writes nothing, exits 1, and says what --unsafe-fixes would add", async () => {
    const dir = project();
    const run = await runCli(["check", "--strict", "--diff", "."], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^--- a\/app\/views\.py\n\+\+\+ b\/app\/views\.py\n@@ /);
    expect(run.stdout).toContain("+    with transaction.atomic():\n+        voucher = Voucher.objects.select_for_update().get(code=code)");
    expect(run.stdout).not.toContain("get_user_model");
    expect(run.stderr).toContain("Would fix 1 finding with 1 fix (1 safe, 0 unsafe) in 1 file; 1 would remain.");
    expect(run.stderr).toContain("1 hidden fix can be enabled with the `--unsafe-fixes` option.");
    expect(readFileSync(join(dir, "app/views.py"), "utf8")).toBe(VIEWS);
  });

  it("exits 0 with an empty diff when there is nothing to fix", async () => {
    const dir = tempProject({ "app/models.py": MODELS });
    const run = await runCli(["check", "--strict", "--diff", "."], dir);
    expect(run).toMatchObject({ code: 0, stdout: "" });
  });
});

describe("check --fix", () => {
  it("writes the safe fixes and reports what is left, saying why it was not fixed", async () => {
    const dir = project();
    const run = await runCli(["check", "--strict", "--fix", "--format", "json", "."], dir);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.findings.map((f: { rule: string }) => f.rule)).toEqual(["STC101"]);
    expect(report.findings[0].remediation).toMatch(/Not fixed by --fix: an unsafe fix is available with --unsafe-fixes/);
    expect(readFileSync(join(dir, "app/views.py"), "utf8")).toContain("voucher = Voucher.objects.select_for_update().get(code=code)");
    expect(run.stderr).toContain("Fixed 1 finding with 1 fix (1 safe, 0 unsafe) in 1 file; 1 remaining.");
  });

  it("with --unsafe-fixes fixes everything, exits 0, and a second run changes nothing", async () => {
    const dir = project();
    const first = await runCli(["check", "--strict", "--fix", "--unsafe-fixes", "."], dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("No findings");
    const once = readFileSync(join(dir, "app/views.py"), "utf8");
    const second = await runCli(["check", "--strict", "--fix", "--unsafe-fixes", "."], dir);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("Fixed 0 findings; 0 remaining.");
    expect(readFileSync(join(dir, "app/views.py"), "utf8")).toBe(once);
  });

  it("does not write through a symbolic link", async () => {
    const dir = tempProject({ "app/models.py": MODELS, "real/views.py": VIEWS, "app/__init__.py": "" });
    symlinkSync(join(dir, "real/views.py"), join(dir, "app/views.py"));
    const run = await runCli(["check", "--strict", "--fix", "."], dir);
    expect(run.stderr).toMatch(/app\/views\.py: not written: it is a symbolic link/);
    // The file itself is fixed once, under its own name.
    expect(readFileSync(join(dir, "real/views.py"), "utf8")).toContain("select_for_update()");
  });

  it("refuses option combinations that make no sense", async () => {
    const dir = project();
    for (const argv of [["check", "--unsafe-fixes", "."], ["endpoints", "--fix", "."], ["check", "--fix", "--write-baseline", "b.json", "."], ["check", "--diff", "--format", "json", "."]]) {
      const run = await runCli(argv, dir);
      expect(run.code, argv.join(" ")).toBe(2);
    }
    expect(readFileSync(join(dir, "app/views.py"), "utf8")).toBe(VIEWS);
  });
});
