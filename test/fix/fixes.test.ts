/**
 * The fixers one at a time: the exact code each writes, the applier's rules (overlaps, identical
 * edits, refusing what does not parse), the diff, encodings and line endings, and the cases
 * with no fix and the reason given.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyEdits, applyFixes } from "../../src/fix/apply.js";
import { unifiedDiff } from "../../src/fix/diff.js";
import { proposeFixes } from "../../src/fix/dispatch.js";
import { readPySource } from "../../src/fix/pySource.js";
import { runFixes } from "../../src/fix/runFixes.js";
import type { Fix } from "../../src/fix/types.js";
import { Workspace } from "../../src/fix/workspace.js";
import { encodeLike, writeFixedFile } from "../../src/fix/writeFiles.js";
import { removeTempProjects, tempProject } from "../helpers/tempProject.js";

afterAll(removeTempProjects);

const MODELS = `from django.db import models


class Invoice(models.Model):
    status = models.CharField(max_length=10)
    total = models.IntegerField(default=0)

    # Another path moves the status on: what makes a stale status check matter.
    def void(self):
        self.status = "void"
        self.save(update_fields=["status"])


class Account(models.Model):
    balance = models.IntegerField(default=0)
`;

/** Fixes `views` (with MODELS next to it) and returns the fixed text and the run's report. */
async function fixed(views: string, unsafe = true, strict = false): Promise<{ text: string; report: Awaited<ReturnType<typeof runFixes>>; workspace: Workspace }> {
  const dir = tempProject({ "app/models.py": MODELS, "app/views.py": views });
  const { workspace } = await Workspace.open({ paths: [dir], cwd: dir, strict });
  const report = await runFixes(workspace, { unsafe });
  return { text: workspace.text("app/views.py")!, report, workspace };
}

/** Every fix proposed for the findings of `views`, preferred first (`strict`: with --strict's findings). */
async function proposals(views: string, strict = false) {
  const dir = tempProject({ "app/models.py": MODELS, "app/views.py": views });
  const { workspace } = await Workspace.open({ paths: [dir], cwd: dir, strict });
  const findings = workspace.findings().filter((f) => f.file === "app/views.py");
  return proposeFixes(await readPySource("app/views.py", workspace.text("app/views.py")!), findings);
}

const PAY = `from django.http import HttpResponse

from .models import Invoice


def pay(request, pk):
    inv = Invoice.objects.get(pk=pk)  # fetched
    if inv.status != "open":
        return HttpResponse(status=409)
    inv.status = "paid"
    inv.save(update_fields=["status"])  # the write
    return HttpResponse(status=204)
`;

describe("the lock-and-transaction fix", () => {
  it("locks the fetch, wraps fetch to write in transaction.atomic(), imports transaction, keeps comments", async () => {
    const { text, report } = await fixed(PAY, false);
    expect(text).toBe(`from django.db import transaction
from django.http import HttpResponse

from .models import Invoice


def pay(request, pk):
    with transaction.atomic():
        inv = Invoice.objects.select_for_update().get(pk=pk)  # fetched
        if inv.status != "open":
            return HttpResponse(status=409)
        inv.status = "paid"
        inv.save(update_fields=["status"])  # the write
    return HttpResponse(status=204)
`);
    expect(report.applied.map((f) => [f.rule, f.safety])).toEqual([["STC102", "safe"]]);
  });

  it("keeps CRLF line ends, tab indentation and the text of multi-line strings", async () => {
    const views = PAY.replace('    inv.status = "paid"\n', '    note = """first\nsecond"""\n    inv.status = "paid"\n').replace(/^ {4}/gm, "\t").replace(/^\t {4}/gm, "\t\t").replace(/\n/g, "\r\n");
    const { text } = await fixed(views, false);
    expect(text).toContain('\t\tnote = """first\r\nsecond"""\r\n');
    expect(text).toContain("\twith transaction.atomic():\r\n\t\tinv = Invoice.objects.select_for_update().get(pk=pk)");
    expect(text.replace(/\r\n/g, "")).not.toContain("\n");
  });

  it("locks inside an existing transaction instead of opening another", async () => {
    const views = PAY.replace("def pay(request, pk):\n", "@transaction.atomic\ndef pay(request, pk):\n").replace("from django.http", "from django.db import transaction\nfrom django.http");
    const { text } = await fixed(views, false);
    expect(text).toContain("@transaction.atomic\ndef pay(request, pk):\n    inv = Invoice.objects.select_for_update().get(pk=pk)");
    expect(text.match(/atomic/g)).toHaveLength(1);
  });

  it("locks get_object_or_404's model with .objects.select_for_update(), and with of=('self',) after select_related()", async () => {
    const viaShortcut = await fixed(PAY.replace("Invoice.objects.get(pk=pk)", "get_object_or_404(Invoice, pk=pk)").replace("from django.http", "from django.shortcuts import get_object_or_404\nfrom django.http"), false);
    expect(viaShortcut.text).toContain("inv = get_object_or_404(Invoice.objects.select_for_update(), pk=pk)");
    const related = await fixed(PAY.replace("Invoice.objects.get(pk=pk)", 'Invoice.objects.select_related("owner").get(pk=pk)'), false);
    expect(related.text).toContain('Invoice.objects.select_related("owner").select_for_update(of=("self",)).get(pk=pk)');
  });

  it("is unsafe when the new block would catch exceptions", async () => {
    const views = PAY.replace('    inv.save(update_fields=["status"])  # the write\n', '    try:\n        inv.save(update_fields=["status"])  # the write\n    except ValueError:\n        pass\n');
    const [proposal] = await proposals(views);
    expect(proposal!.fixes[0]!.safety).toBe("unsafe");
    expect(proposal!.fixes[0]!.unsafeBecause).toMatch(/catches exceptions/);
  });
});

describe("the compare-and-set fix", () => {
  it("re-tests the checked field in the UPDATE, tests the row count, and turns arithmetic into F()", async () => {
    const views = `from django.http import HttpResponse

from .models import Account


def withdraw(request, pk, amount):
    acct = Account.objects.get(pk=pk)
    if acct.balance < amount:
        return HttpResponse(status=402)
    acct.balance -= amount
    acct.save(update_fields=["balance"])  # debit
    return HttpResponse(status=204)
`;
    const [proposal] = await proposals(views);
    expect(proposal!.fixes.map((f) => f.safety)).toEqual(["safe", "unsafe"]);
    const cas = proposal!.fixes[1]!;
    const text = applyEdits(views, cas.edits);
    expect(text).toContain(`    acct.balance -= amount
    if not Account.objects.filter(pk=acct.pk, balance__gte=amount).update(balance=F("balance") - amount):  # debit
        return HttpResponse(status=402)
    return HttpResponse(status=204)`);
    expect(text).toContain("from django.db.models import F\n");
  });

  it("turns a counter's `n -= 1; save()` into an F() update guarded by the same test", async () => {
    const views = `from django.http import HttpResponse

from .models import Account


def spend(request, pk):
    acct = Account.objects.get(pk=pk)
    if acct.balance <= 0:
        return HttpResponse(status=402)
    acct.balance -= 1
    acct.save()
    return HttpResponse(status=204)
`;
    const [proposal] = await proposals(views);
    const text = applyEdits(views, proposal!.fixes.find((f) => f.safety === "unsafe")!.edits);
    expect(text).toContain(`    if not Account.objects.filter(pk=acct.pk, balance__gt=0).update(balance=F("balance") - 1):
        return HttpResponse(status=402)`);
  });

  it("uses exclude() for a check that denies on equality", async () => {
    const views = PAY.replace('if inv.status != "open":', 'if inv.status == "void":');
    const [proposal] = await proposals(views);
    const text = applyEdits(views, proposal!.fixes.find((f) => f.safety === "unsafe")!.edits);
    expect(text).toContain('if not Invoice.objects.filter(pk=inv.pk).exclude(status="void").update(status=inv.status):  # the write');
  });
});

describe("the other fixes", () => {
  it("STC101: locks the requesting user's row before the check (unsafe)", async () => {
    const views = `from django.http import HttpResponse

from .models import Invoice


def void(request, pk):
    if not request.user.has_perm("app.void_invoice"):
        return HttpResponse(status=403)
    Invoice.objects.filter(pk=pk).update(status="void")
    return HttpResponse(status=204)
`;
    // Only an administrator revoking the permission races it, with nothing slow between: --strict.
    expect((await fixed(views, true, false)).text).toBe(views);
    expect((await fixed(views, false, true)).text).toBe(views);
    const { text, report } = await fixed(views, true, true);
    expect(text).toContain(`from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse`);
    expect(text).toContain(`    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=request.user.pk)
        if not request.user.has_perm("app.void_invoice"):`);
    expect(report.applied.map((f) => f.safety)).toEqual(["unsafe"]);
  });

  it("STC103: re-reads the user under a lock and repeats the check before the use (unsafe)", async () => {
    const views = `import time

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from .models import Invoice

User = get_user_model()


def purge(request, pk):
    if not request.user.is_staff:
        raise PermissionDenied
    time.sleep(5)
    Invoice.objects.filter(pk=pk).delete()
    return HttpResponse(status=204)
`;
    const { text } = await fixed(views);
    expect(text).toContain(`    time.sleep(5)
    with transaction.atomic():
        locked_user = User.objects.select_for_update().get(pk=request.user.pk)
        if not locked_user.is_staff:
            raise PermissionDenied
        Invoice.objects.filter(pk=pk).delete()
    return HttpResponse(status=204)`);
  });

  it("STC103: repeats a decorator's test in the body, under the lock, before the use (unsafe)", async () => {
    const views = `import time

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse

from .models import Invoice


@staff_member_required
def purge(request, pk):
    time.sleep(5)
    Invoice.objects.filter(pk=pk).delete()
    return HttpResponse(status=204)
`;
    const { text } = await fixed(views);
    expect(text).toContain("from django.core.exceptions import PermissionDenied\n");
    expect(text).toContain(`    time.sleep(5)
    with transaction.atomic():
        locked_user = get_user_model().objects.select_for_update().get(pk=request.user.pk)
        if not (locked_user.is_active and locked_user.is_staff):
            raise PermissionDenied
        Invoice.objects.filter(pk=pk).delete()`);
  });

  it("STC001: removes the unused codes, the comment or the line, and keeps other tools' codes and used ones", async () => {
    const views = `from django.http import HttpResponse

from .models import Invoice


def show(request, pk):
    invoice = Invoice.objects.get(pk=pk, owner=request.user)  # noqa: STC101
    total = invoice.total  # noqa: E501, STC102
    # stalecheck: ignore[STC108] -- no longer needed
    name = str(invoice)  # noqa: STC999  # keep this remark
    return HttpResponse(f"{name} {total}")


def pay(request, pk):
    inv = Invoice.objects.get(pk=pk)
    if inv.status != "open":
        return HttpResponse(status=409)
    inv.status = "paid"
    inv.save()  # noqa: STC102, STC105
    return HttpResponse(status=204)
`;
    const { text, report } = await fixed(views, false);
    expect(text).toBe(views
      .replace("  # noqa: STC101\n", "\n")
      .replace("# noqa: E501, STC102", "# noqa: E501")
      .replace("    # stalecheck: ignore[STC108] -- no longer needed\n", "")
      .replace("# noqa: STC999  # keep this remark", "# keep this remark")
      .replace("# noqa: STC102, STC105", "# noqa: STC102"));
    expect(report.applied.every((f) => f.rule === "STC001" && f.safety === "safe")).toBe(true);
  });

  it("says why there is no fix: async views, decorator checks, uniqueness guards", async () => {
    const views = `from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse

from .models import Invoice


async def pay(request, pk):
    inv = await Invoice.objects.aget(pk=pk)
    if inv.status != "open":
        return HttpResponse(status=409)
    inv.status = "paid"
    await inv.asave()
    return HttpResponse(status=204)


@permission_required("app.add_invoice")
def create(request):
    Invoice.objects.create(status="open")
    return HttpResponse(status=201)


def open_one(request):
    if Invoice.objects.filter(status="draft").exists():
        return HttpResponse(status=409)
    Invoice.objects.create(status="draft")
    return HttpResponse(status=201)
`;
    const reasons = Object.fromEntries((await proposals(views, true)).map((p) => [p.finding.function, p.reasons.join("; ")]));
    expect(reasons.pay).toMatch(/async/);
    expect(reasons.create).toMatch(/decorator `@permission_required\("app.add_invoice"\)`, which runs before the function's body/);
    expect(reasons.open_one).toMatch(/unique constraint \(a model change and its migration\)/);
  });
});

describe("applying edits", () => {
  const edit = (start: number, end: number, newText: string) => ({ file: "f.py", start, end, newText });
  const fix = (edits: ReturnType<typeof edit>[], title = "t"): Fix => ({ rule: "STC102", safety: "safe", title, edits, resolves: [] });

  it("applies non-overlapping edits, counts identical ones once, and refuses overlapping ones", () => {
    expect(applyEdits("abcdef", [edit(1, 2, "B"), edit(4, 4, "+"), edit(4, 4, "+")])).toBe("aBcd+ef");
    expect(() => applyEdits("abcdef", [edit(1, 3, "X"), edit(2, 4, "Y")])).toThrow(/overlapping/);
    expect(() => applyEdits("abcdef", [edit(2, 2, "X"), edit(2, 2, "Y")])).toThrow(/overlapping/);
  });

  it("defers a fix that overlaps one applied before it, and refuses one whose result does not parse", async () => {
    const text = "x = 1\ny = 2\n";
    const result = await applyFixes(text, [fix([edit(0, 5, "x = 3")], "a"), fix([edit(4, 5, "4")], "b"), fix([edit(6, 11, "y = (")], "c")]);
    expect(result.applied.map((f) => f.title)).toEqual(["a"]);
    expect(result.deferred.map((f) => f.title)).toEqual(["b"]);
    expect(result.refused.map((f) => f.title)).toEqual(["c"]);
    expect(result.text).toBe("x = 3\ny = 2\n");
  });

  it("writes a unified diff with three lines of context", () => {
    const before = "a\nb\nc\nd\ne\nf\ng\nh\n";
    expect(unifiedDiff("x.py", before, before.replace("d\n", "D\nD2\n"))).toBe("--- a/x.py\n+++ b/x.py\n@@ -1,7 +1,8 @@\n a\n b\n c\n-d\n+D\n+D2\n e\n f\n g\n");
    expect(unifiedDiff("x.py", before, before)).toBe("");
  });

  it("writes in the file's encoding: a UTF-8 BOM is kept, a Latin-1 cookie honoured", () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf, 0x78]);
    expect([...encodeLike(bom, "y = 'é'")!.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const latin = Buffer.from("# -*- coding: latin-1 -*-\nx = 1\n", "latin1");
    expect(encodeLike(latin, "# -*- coding: latin-1 -*-\nx = 'é'\n")).toEqual(Buffer.from("# -*- coding: latin-1 -*-\nx = 'é'\n", "latin1"));
    expect(encodeLike(latin, "x = '€'\n")).toBeNull();
  });

  it("never writes a file that changed since it was read", () => {
    const dir = tempProject({ "a.py": "x = 1\n" });
    expect(writeFixedFile(join(dir, "a.py"), "x = 0\n", "x = 2\n", 1000)).toMatch(/changed/);
    expect(readFileSync(join(dir, "a.py"), "utf8")).toBe("x = 1\n");
    expect(writeFixedFile(join(dir, "a.py"), "x = 1\n", "x = 2\n", 1000)).toBeNull();
    expect(readFileSync(join(dir, "a.py"), "utf8")).toBe("x = 2\n");
  });
});
