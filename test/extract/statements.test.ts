/** The statement walk: regions, the scopes guards get, variable definitions, returns and the function's description. */
import { describe, expect, it } from "vitest";
import { extract, py } from "../helpers/functionFacts.js";

describe("regions", () => {
  it("opens an atomic region over the body of with transaction.atomic(), not of a with that forgot the call", async () => {
    const x = await extract(py`
      def pay(request, pk):
          with transaction.atomic():
              inv = Invoice.objects.get(pk=pk)
          with transaction.atomic:
              inv.save()
    `, "pay");
    const atomic = x.fn.regions.filter((r) => r.kind === "atomic");
    expect(atomic).toHaveLength(1);
    expect(x.lines([atomic[0]!.span])).toEqual([x.line("inv = ")]);
  });

  it("makes the whole function atomic under @transaction.atomic, and under a configured transaction name", async () => {
    const source = py`
      from myapp.db import locked_atomic

      @transaction.atomic
      def pay(request):
          do_pay()

      def refund(request):
          with locked_atomic(using="default"):
              do_refund()
    `;
    const pay = await extract(source, "pay");
    expect(pay.fn.regions.map((r) => [r.kind, r.site.line])).toEqual([["atomic", pay.line("@transaction.atomic")]]);
    const refund = await extract(source, "refund", { transactionNames: ["myapp.db.locked_atomic"] });
    expect(refund.fn.regions.map((r) => r.kind)).toEqual(["atomic"]);
    expect((await extract(source, "refund")).fn.regions).toEqual([]);
  });

  it("opens loop regions for for and while, and a try-integrity region over a try that catches IntegrityError", async () => {
    const x = await extract(py`
      def settle(request):
          for inv in pending():
              pass
          while busy():
              pass
          try:
              Invoice.objects.create(number=1)
          except IntegrityError:
              pass
    `, "settle");
    expect(x.fn.regions.map((r) => [r.kind, r.site.line])).toEqual([
      ["loop", x.line("for inv")], ["loop", x.line("while")], ["try-integrity", x.line("try:")],
    ]);
    expect(x.lines([x.fn.regions[2]!.span])).toEqual([x.line("create(")]);
  });
});

describe("guard scopes", () => {
  it("guards only the body of an if that does not exit, and the later branches of an if/elif/else", async () => {
    const x = await extract(py`
      def view(request, inv):
          if request.user.has_perm("a"):
              inv.save()
          elif request.user.has_perm("b"):
              inv.delete()
          else:
              log()
          after()
    `, "view");
    const [first, second] = x.events("check");
    expect(x.lines(first!.scopes)).toEqual([x.line("inv.save"), x.line("inv.delete"), x.line("log()")]);
    expect(x.lines(second!.scopes)).toEqual([x.line("inv.delete"), x.line("log()")]);
  });

  it("guards what follows an assert, through the enclosing with block", async () => {
    const x = await extract(py`
      def view(request, inv):
          with transaction.atomic():
              assert request.user.has_perm("a")
              inv.save()
          inv.delete()
    `, "view");
    const [check] = x.events("check");
    expect(check!.guard).toBe("assert");
    expect(x.lines(check!.scopes)).toEqual([x.line("inv.save"), x.line("inv.delete")]);
  });

  it("guards what follows a statement-level helper call, to the end of its block but not past a loop", async () => {
    const x = await extract(py`
      def view(request, items):
          for inv in items:
              ensure_can_pay(request.user, inv)
              inv.save()
          done()
    `, "view");
    const [call] = x.events("call").filter((c) => c.callee === "ensure_can_pay");
    expect(call!.guard).toBe("raise-call");
    expect(x.lines(call!.scopes)).toEqual([x.line("inv.save")]);
  });
});

describe("definitions", () => {
  it("defines parameters: user as the request user, others as objects handed in, not self or request", async () => {
    const x = await extract(py`
      class V(APIView):
          def perform_destroy(self, request, user, instance):
              instance.delete()
    `, "V.perform_destroy");
    expect(x.fn.defs.map((d) => [d.name, d.origin])).toEqual([["user", "request-user"], ["instance", "other"]]);
    expect(x.events("write")).toMatchObject([{ op: "delete", targetDef: x.def("instance").id }]);
  });

  it("tracks self attributes assigned in a method like locals", async () => {
    const x = await extract(py`
      class V(APIView):
          def post(self, request, pk):
              self.invoice = get_object_or_404(Invoice, pk=pk)
              if self.invoice.status == "open":
                  self.invoice.save()
    `, "V.post");
    const invoice = x.def("self.invoice");
    expect(invoice.origin).toBe("fetch");
    expect(x.events("check")).toMatchObject([{ kind: "state", subjectDef: invoice.id, field: "status" }]);
  });

  it("gives a redefined name a new definition, which no longer carries the old check", async () => {
    const x = await extract(py`
      def view(request):
          ok = request.user.has_perm("a")
          ok = compute()
          if ok:
              pass
    `, "view");
    expect(x.fn.defs.filter((d) => d.name === "ok")).toHaveLength(2);
    expect(x.events("check")[0]!.scopes).toEqual([]);
    expect(x.events("call")).toMatchObject([{ callee: "compute", resultDef: x.def("ok").id }]);
  });

  it("records the model fields a function assigns", async () => {
    const x = await extract(py`
      def pay(request, pk, other):
          inv = Invoice.objects.get(pk=pk)
          inv.status = "paid"
          inv.paid_total += 1
          other.owner_id = request.user.id
    `, "pay");
    expect(x.fn.fieldWrites).toEqual([
      { key: "*.owner", line: x.line("other.owner_id"), stampsUser: true }, { key: "Invoice.paid_total", line: x.line("inv.paid_total") }, { key: "Invoice.status", line: x.line("inv.status") },
    ]);
  });

  it("records each assignment to a tracked object's field, its value, and whether it reads the old value", async () => {
    const x = await extract(py`
      def pay(request, pk, other):
          inv = Invoice.objects.get(pk=pk)
          inv.status = "paid"
          inv.paid_total += 1
          inv.balance = inv.balance - 5
          inv.name = inv.name_other
          other.owner_id = request.user.id
    `, "pay");
    expect(x.events("assign").map((a) => [a.field, a.value, a.literal, a.readModifyWrite, a.def])).toEqual([
      ["status", '"paid"', true, false, x.def("inv").id],
      ["paid_total", "1", false, true, x.def("inv").id],
      ["balance", "inv.balance - 5", false, true, x.def("inv").id],
      ["name", "inv.name_other", false, false, x.def("inv").id],
      ["owner", "request.user.id", false, false, x.def("other").id],
    ]);
  });

  it("notes which branch each scope of an if is and whether the check stands negated", async () => {
    const x = await extract(py`
      def edit(request, pk):
          if request.user.is_staff:
              raise Http404
          inv = Invoice.objects.get(pk=pk)
          if inv.status != "open" or not request.user.has_perm("billing.edit"):
              return None
          inv.save()
    `, "edit");
    const [staff, state, perm] = x.events("check");
    expect([staff!.negated, state!.negated, perm!.negated]).toEqual([undefined, true, true]);
    expect(x.lines(staff!.whenFalse ?? [])).toContain(x.line("inv.save"));
    expect(x.lines(state!.whenFalse ?? [])).toContain(x.line("inv.save"));
    expect(x.lines(staff!.scopes).filter((l) => !x.lines(staff!.whenFalse ?? []).includes(l))).toEqual([x.line("raise Http404")]);
  });

  it("reads which side of a comparison grants: == 0 and is None deny, > 0 and is not None grant, a bound is either", async () => {
    const x = await extract(py`
      def edit(request, pk):
          inv = Invoice.objects.get(pk=pk)
          if request.user.groups.filter(name="billing").count() == 0:
              raise PermissionDenied
          if inv.approved_by is not None:
              inv.save()
          if request.user.level < 3:
              raise PermissionDenied
          if Admin.objects.filter(org=inv.org).count() <= 1:
              raise PermissionDenied
          inv.delete()
    `, "edit");
    const [group, approved, level, admins] = x.events("check");
    expect([group!.negated, approved!.negated, level!.negated]).toEqual([true, undefined, undefined]);
    expect([group!.threshold, level!.threshold]).toEqual([undefined, true]);
    expect([group!.bound, admins!.bound, approved!.bound]).toEqual(["0", "1", undefined]);
  });

  it("tells a many-valued state check (a string or number literal) from a yes/no one", async () => {
    const x = await extract(py`
      def close(request, pk):
          inv = Invoice.objects.get(pk=pk)
          if inv.status != "open":
              return None
          if inv.paid:
              return None
          inv.save()
    `, "close");
    expect(x.events("check").map((c) => c.manyValued)).toEqual([true, undefined]);
  });
});

describe("returns, raises and nesting", () => {
  it("discloses fetched rows returned in a response, and marks 403 responses and denial exceptions as denying", async () => {
    const x = await extract(py`
      def show(request, pk):
          inv = Invoice.objects.get(pk=pk)
          if inv.hidden:
              return Response(status=403)
          return Response(InvoiceSerializer(inv).data)
    `, "show");
    expect(x.events("disclose")).toMatchObject([{ defs: [x.def("inv").id] }]);
    expect(x.fn.denies).toBe(true);
  });

  it("notes a returned locked queryset and the callees whose answers are returned", async () => {
    const source = py`
      def locked(pk):
          return Invoice.objects.select_for_update().filter(pk=pk)

      def allowed(user, inv):
          return is_owner(user, inv)
    `;
    expect((await extract(source, "locked")).fn.returnsLockedQuery).toBe(true);
    const allowed = await extract(source, "allowed");
    expect(allowed.fn.returnsLockedQuery).toBe(false);
    expect(allowed.fn.returnCallees).toEqual(["is_owner"]);
  });

  it("leaves nested functions and classes to their own facts, and keeps events in source order", async () => {
    const x = await extract(py`
      def outer(request, pk):
          inv = Invoice.objects.get(pk=pk)
          def inner():
              Invoice.objects.filter(pk=pk).delete()
          class Local:
              total = Invoice.objects.count()
          inv.save()
    `, "outer");
    expect(x.fn.events.map((e) => e.type)).toEqual(["fetch", "write"]);
    const inner = await extract(x.source, "outer.inner");
    expect(inner.events("write")).toMatchObject([{ op: "delete" }]);
  });

  it("tells request handlers from helpers", async () => {
    const source = py`
      def helper(user, inv):
          pass

      @api_view(["POST"])
      def pay(req):
          pass

      class InvoiceViewSet(ModelViewSet):
          def perform_create(self, serializer):
              pass
          def _audit(self, serializer):
              pass
    `;
    const names = ["helper", "pay", "InvoiceViewSet.perform_create", "InvoiceViewSet._audit"];
    const viewLike = await Promise.all(names.map(async (n) => (await extract(source, n)).fn.viewLike));
    expect(viewLike).toEqual([false, true, true, false]);
  });
});
