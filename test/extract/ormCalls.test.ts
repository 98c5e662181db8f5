/** ORM calls in a function's facts: fetches, locks, writes, related managers, custom queryset methods. */
import { describe, expect, it } from "vitest";
import { extract, py } from "../helpers/functionFacts.js";

describe("fetches", () => {
  it("records Model.objects.get() as a single, unlocked fetch of the model, with its filter fields, into the variable", async () => {
    const x = await extract(py`
      def pay(request, pk):
          inv = Invoice.objects.get(pk=pk, owner_id=request.user.id)
    `, "pay");
    const [fetch] = x.events("fetch");
    expect(fetch).toMatchObject({ single: true, query: { model: "Invoice", filterFields: ["owner", "pk"], filterRefsUser: true, locked: false } });
    expect(fetch!.def).toBe(x.def("inv").id);
    expect(x.def("inv")).toMatchObject({ origin: "fetch", query: { model: "Invoice" } });
  });

  it("marks a fetch through select_for_update() locked, wherever the lock sits in the chain", async () => {
    const x = await extract(py`
      def pay(request, pk):
          a = Invoice.objects.select_for_update().get(pk=pk)
          b = Invoice.objects.filter(pk=pk).select_for_update().first()
          c = Invoice.objects.filter(pk=pk).first()
    `, "pay");
    expect(x.events("fetch").map((f) => f.query.locked)).toEqual([true, true, false]);
  });

  it("fetches a lazy queryset where it is iterated, remembering where it was built", async () => {
    const x = await extract(py`
      def pay_all(request):
          invoices = Invoice.objects.filter(owner=request.user)
          for inv in invoices:
              inv.save()
    `, "pay_all");
    const [fetch] = x.events("fetch");
    expect(fetch!.site.line).toBe(x.line("for inv"));
    expect(fetch).toMatchObject({ single: false, query: { model: "Invoice", filterFields: ["owner"], filterRefsUser: true } });
    expect(fetch!.builtPos).toBe(x.source.indexOf("Invoice.objects"));
    expect(x.def("inv").origin).toBe("fetch");
  });

  it("reads get_object_or_404 and get_list_or_404 as fetches of the model or queryset they are given", async () => {
    const x = await extract(py`
      def pay(request, pk):
          a = get_object_or_404(Invoice, pk=pk)
          b = get_object_or_404(Invoice.objects.select_for_update(), pk=pk)
          c = get_list_or_404(Invoice, owner=request.user)
    `, "pay");
    expect(x.events("fetch").map((f) => [f.query.model, f.query.locked, f.single, f.query.filterFields])).toEqual([
      ["Invoice", false, true, ["pk"]],
      ["Invoice", true, true, ["pk"]],
      ["Invoice", false, false, ["owner"]],
    ]);
  });

  it("fetches with list(qs) and qs[0], but not with a slice, which is still a queryset", async () => {
    const x = await extract(py`
      def recent(request):
          qs = Invoice.objects.filter(owner=request.user)
          rows = list(qs)
          first = qs[0]
          page = qs[:10]
    `, "recent");
    expect(x.events("fetch").map((f) => [f.site.line, f.single])).toEqual([[x.line("list(qs)"), false], [x.line("qs[0]"), true]]);
    expect(x.def("page").origin).toBe("queryset");
  });

  it("fetches with set(), tuple() and sorted() of a queryset, values_list() included", async () => {
    const x = await extract(py`
      def names(request):
          taken = set(Tag.objects.filter(owner=request.user).values_list("name", flat=True))
          ids = tuple(Tag.objects.filter(owner=request.user))
          ordered = sorted(Tag.objects.all())
          plain = set(request.POST.getlist("name"))
          seen = set(t.name for t in Tag.objects.filter(owner=request.user))
    `, "names");
    expect(x.events("fetch").map((f) => [f.site.line, f.query.model])).toEqual([
      [x.line("taken ="), "Tag"], [x.line("ids ="), "Tag"], [x.line("ordered ="), "Tag"], [x.line("seen ="), "Tag"],
    ]);
  });

  it("follows custom manager methods on a model's manager, but not a related object's own methods", async () => {
    const x = await extract(py`
      def pay(request, pk):
          inv = Invoice.objects.payable().get(pk=pk)
          lines = inv.lines.payable()
    `, "pay");
    expect(x.events("fetch")).toHaveLength(1);
    expect(x.events("fetch")[0]!.query.custom).toEqual(["payable"]);
    expect(x.def("lines").origin).not.toBe("queryset");
  });

  it("makes no fetch of dict.get(), aggregate() or a method of an unknown object", async () => {
    const x = await extract(py`
      def summary(request):
          pk = request.GET.get("pk")
          total = Invoice.objects.aggregate(Sum("total"))
          row = client.get(pk)
          return total
    `, "summary");
    expect(x.events("fetch")).toEqual([]);
  });
});

describe("writes", () => {
  it("records a queryset update with its filter and the fields updated from F()", async () => {
    const x = await extract(py`
      def pay(request, pk):
          Invoice.objects.filter(pk=pk).update(status="paid", paid=F("paid") + 1)
    `, "pay");
    const [write] = x.events("write");
    expect(write).toMatchObject({ op: "update", query: { model: "Invoice", filterFields: ["pk"] }, fFields: ["paid"], setFields: ["status", "paid"] });
    expect(x.fn.fieldWrites).toEqual([{ key: "Invoice.paid", line: 2 }, { key: "Invoice.status", line: 2 }]);
  });

  it("names the fields a save(update_fields=[...]) writes, and none for a save of every field", async () => {
    const x = await extract(py`
      def pay(request, pk):
          inv = Invoice.objects.get(pk=pk)
          inv.save(update_fields=["status", "paid_at"])
          inv.save()
          inv.save(update_fields=fields)
    `, "pay");
    expect(x.events("write").map((w) => w.setFields)).toEqual([["status", "paid_at"], undefined, undefined]);
  });

  it("keeps the lookup fields of get_or_create (not defaults) and the fields a create() sets", async () => {
    const x = await extract(py`
      def join(request, team):
          m, created = Membership.objects.get_or_create(user=request.user, team_id=team, defaults={"role": "member"})
          Invite.objects.create(email=request.POST["email"], team=team)
    `, "join");
    expect(x.events("write").map((w) => [w.op, w.lookupFields])).toEqual([["get_or_create", ["user", "team"]], ["create", ["email", "team"]]]);
    expect(x.def("m").origin).toBe("fetch");
  });

  it("tells saving a fetched object from creating a new one, on one line or two", async () => {
    const x = await extract(py`
      def pay(request, pk):
          inv = Invoice.objects.get(pk=pk)
          inv.save()
          inv.delete()
          receipt = Receipt(invoice=inv)
          receipt.save()
          Audit(user=request.user).save()
    `, "pay");
    const inv = x.def("inv").id;
    expect(x.events("write").map((w) => [w.op, w.targetDef, w.query?.model ?? null])).toEqual([
      ["save", inv, null], ["delete", inv, null], ["create", null, "Receipt"], ["create", null, "Audit"],
    ]);
    expect(x.events("write")[2]!.defs).toContain(inv);
    expect(x.events("write")[3]!.lookupFields).toEqual(["user"]);
  });

  it("does not count form.save(commit=False) as a write; form.save() writes the instance the form was built on", async () => {
    const x = await extract(py`
      def edit(request, pk):
          inv = Invoice.objects.get(pk=pk)
          form = InvoiceForm(request.POST, instance=inv)
          draft = form.save(commit=False)
          form.save()
    `, "edit");
    expect(x.events("write").map((w) => [w.site.line, w.op])).toEqual([[x.line("form.save()"), "serializer-save"]]);
    expect(x.events("write")[0]!.defs).toContain(x.def("inv").id);
  });

  it("records related-manager writes against the object whose relation changes", async () => {
    const x = await extract(py`
      def share(request, pk, user):
          inv = Invoice.objects.get(pk=pk)
          inv.viewers.add(user)
          request.user.groups.remove(group)
          tags = set()
          tags.add("x")
    `, "share");
    const [add, remove] = x.events("write");
    expect(x.events("write")).toHaveLength(2);
    expect(add).toMatchObject({ op: "m2m", targetDef: x.def("inv").id });
    expect(remove).toMatchObject({ op: "m2m", query: { source: "request.user.groups", filterRefsUser: true } });
  });

  it("sees the write sync_to_async wraps", async () => {
    const x = await extract(py`
      async def pay(request, pk):
          inv = await Invoice.objects.aget(pk=pk)
          await sync_to_async(inv.save)()
    `, "pay");
    expect(x.events("write")).toMatchObject([{ op: "save", targetDef: x.def("inv").id }]);
  });
});

describe("refresh_from_db", () => {
  it("re-reads the object, locked only through a select_for_update queryset; the request user's is def -1", async () => {
    const x = await extract(py`
      def pay(request, pk):
          inv = Invoice.objects.get(pk=pk)
          inv.refresh_from_db()
          inv.refresh_from_db(from_queryset=Invoice.objects.select_for_update())
          request.user.refresh_from_db()
    `, "pay");
    const inv = x.def("inv").id;
    expect(x.events("refresh").map((r) => [r.def, r.locked])).toEqual([[inv, false], [inv, true], [-1, false]]);
  });
});

describe("get-or-create facts", () => {
  it("reads super().update_or_create() in a manager built with from_queryset() as a get_or_create of the manager's rows", async () => {
    const x = await extract(py`
      class DraftManager(models.Manager.from_queryset(DraftQuerySet)):
          def store(self, owner, **kwargs):
              return super().update_or_create(owner=owner, **kwargs)
    `, "DraftManager.store");
    expect(x.events("write")[0]).toMatchObject({ op: "get_or_create", method: "update_or_create", query: { source: "self" }, lookupFields: ["owner"], openLookup: true });
  });

  it("takes the lookups from the call's own keywords and Q objects, not from calls in their values", async () => {
    const x = await extract(py`
      def keep(request, obj):
          State.objects.get_or_create(content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False), key=1)
          State.objects.filter(Q(a=1) | Q(b=2), c=3).exists()
    `, "keep");
    expect(x.events("write")[0]!.query!.filterFields).toEqual(["content_type", "key"]);
    expect(x.events("check")[0]!.query!.filterFields).toEqual(["a", "b", "c"]);
  });
});
