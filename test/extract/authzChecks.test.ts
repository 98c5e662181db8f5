/** Authorization checks in a function's facts: what counts as one, of which kind, and what it guards. */
import { describe, expect, it } from "vitest";
import { extract, py } from "../helpers/functionFacts.js";

describe("permission APIs and helpers", () => {
  it("records has_perm() deciding an if as a perm check guarding the body and, since the body exits, the rest", async () => {
    const x = await extract(py`
      def pay(request, pk):
          inv = Invoice.objects.get(pk=pk)
          if not request.user.has_perm("billing.pay"):
              raise PermissionDenied
          inv.paid = True
          inv.save()
    `, "pay");
    const [check] = x.events("check");
    expect(check).toMatchObject({ kind: "perm", guard: "if", byName: false, receiver: "request.user" });
    expect(x.lines(check!.scopes)).toEqual([x.line("raise"), x.line("inv.paid"), x.line("inv.save")]);
    expect(x.fn.denies).toBe(true);
  });

  it("gives a bare has_perm() statement no scope: its answer is dropped", async () => {
    const x = await extract(py`
      def pay(request):
          request.user.has_perm("billing.pay")
          do_pay()
    `, "pay");
    expect(x.events("check")).toMatchObject([{ kind: "perm", guard: "raise-call", scopes: [] }]);
  });

  it("keeps the scope of a statement-level check that raises (check_object_permissions), to the end of its block", async () => {
    const x = await extract(py`
      class InvoiceView(APIView):
          def post(self, request, pk):
              inv = Invoice.objects.get(pk=pk)
              self.check_object_permissions(request, inv)
              inv.save()
    `, "InvoiceView.post");
    const [check] = x.events("check");
    expect(check).toMatchObject({ kind: "object-perm", guard: "raise-call", byName: false, onDefs: [x.def("inv").id] });
    expect(x.lines(check!.scopes)).toEqual([x.line("inv.save")]);
  });

  it("classifies methods named like checks as helpers by name; self methods and plain functions as calls", async () => {
    const x = await extract(py`
      class InvoiceView(APIView):
          def post(self, request, pk):
              inv = Invoice.objects.get(pk=pk)
              if not policy.can_pay(request.user, inv):
                  raise PermissionDenied
              if not self.can_pay(inv):
                  raise PermissionDenied
              if not can_pay(request.user, inv):
                  raise PermissionDenied
    `, "InvoiceView.post");
    expect(x.events("check")).toMatchObject([{ kind: "helper", byName: true, receiver: "policy", onDefs: [x.def("inv").id] }]);
    expect(x.events("call").map((c) => [c.callee, c.guard, c.argDefs])).toEqual([
      ["self.can_pay", "if", [x.def("inv").id]],
      ["can_pay", "if", [x.def("inv").id]],
    ]);
  });

  it("records user.check_password() as a call, not an authorization check", async () => {
    const x = await extract(py`
      def login(request, user):
          if not user.check_password(request.POST["password"]):
              raise PermissionDenied
    `, "login");
    expect(x.events("check")).toEqual([]);
    expect(x.events("call").map((c) => c.callee)).toEqual(["user.check_password"]);
  });
});

describe("groups, memberships and existence", () => {
  it("reads the user's groups queried for existence as a group check, a membership table queried for the user as membership", async () => {
    const x = await extract(py`
      def approve(request, team):
          if request.user.groups.filter(name="approvers").exists():
              pass
          if Membership.objects.filter(user=request.user, team=team).exists():
              pass
          if Invoice.objects.filter(owner=request.user).exists():
              pass
    `, "approve");
    expect(x.events("check").map((c) => c.kind)).toEqual(["group", "membership", "exists"]);
  });

  it("turns try: get() / except DoesNotExist into an existence check guarding the handler", async () => {
    const x = await extract(py`
      def register(request, number):
          try:
              inv = Invoice.objects.get(number=number)
          except Invoice.DoesNotExist:
              inv = Invoice.objects.create(number=number)
    `, "register");
    const [check] = x.events("check");
    expect(check).toMatchObject({ kind: "exists", guard: "except", query: { model: "Invoice", filterFields: ["number"] } });
    expect(x.lines(check!.scopes)).toEqual([x.line("except"), x.line("create(")]);
  });

  it("reads a queryset variable tested by an if as an existence check", async () => {
    const x = await extract(py`
      def register(request, number):
          taken = Invoice.objects.filter(number=number)
          if taken:
              raise ValidationError("taken")
    `, "register");
    expect(x.events("check")).toMatchObject([{ kind: "exists", method: "bool", query: { filterFields: ["number"] } }]);
  });

  it("names how an existence check asks: exists(), count(), len(), a truth test, get() / except", async () => {
    const x = await extract(py`
      def quota(request):
          mine = Invoice.objects.filter(owner=request.user)
          if Account.objects.filter(email=request.POST["email"]).exists():
              pass
          if mine.count() >= 5 or len(mine) > 9:
              pass
    `, "quota");
    expect(x.events("check").map((c) => c.method)).toEqual(["exists", "count", "len"]);
  });

  it("does not read a queryset passed to a call in a condition as a truth test of that queryset", async () => {
    const x = await extract(py`
      def remove(self, auth):
          nodes = Node.objects.filter(parent=self)
          if len(nodes) != Node.objects.visible_to(auth.user, nodes).count():
              raise PermissionDenied
          if helper(nodes):
              return
    `, "remove");
    expect(x.events("check").map((c) => c.method)).toEqual(["len", "count"]);
  });
});

describe("the request user's attributes", () => {
  it("reads is_staff as a staff check and role or profile fields as user-attr, not is_authenticated or is_active", async () => {
    const x = await extract(py`
      def admin(request):
          if request.user.is_staff:
              pass
          if request.user.profile.plan == "pro":
              pass
          if request.user.role == "admin":
              pass
          if request.user.is_authenticated and request.user.is_active:
              pass
    `, "admin");
    expect(x.events("check").map((c) => [c.site.line, c.kind])).toEqual([
      [x.line("is_staff"), "staff"], [x.line("profile.plan"), "user-attr"], [x.line(".role"), "user-attr"],
    ]);
  });

  it("follows the user through a variable and a user parameter", async () => {
    const x = await extract(py`
      def admin(request, user):
          me = request.user
          if me.is_superuser or user.is_staff:
              pass
    `, "admin");
    expect(x.events("check").map((c) => c.kind)).toEqual(["staff", "staff"]);
  });
});

describe("state checks", () => {
  it("reads a fetched object's field or method in a condition as a state check, unless the method is named like a check", async () => {
    const x = await extract(py`
      def pay(request, pk):
          inv = Invoice.objects.get(pk=pk)
          if inv.status != "open":
              raise ValidationError("closed")
          if inv.is_overdue():
              notify(inv)
          if inv.can_be_paid_by(request.user):
              pass
          if status != "open":
              pass
    `, "pay");
    const inv = x.def("inv").id;
    expect(x.events("check").map((c) => [c.kind, c.subjectDef ?? null, c.field ?? null])).toEqual([
      ["state", inv, "status"], ["state", inv, null], ["helper", null, null],
    ]);
    expect(x.events("check")[2]!.onDefs).toEqual([inv]);
  });

  it("marks a compare-and-set to the compared value idempotent, not a transition to a literal", async () => {
    const x = await extract(py`
      def move(request, pk, category):
          thread = Thread.objects.get(pk=pk)
          if thread.category != category:
              thread.category = category
          if thread.state != "closed":
              thread.state = "closed"
    `, "move");
    expect(x.events("check").map((c) => [c.field, c.idempotent ?? false])).toEqual([["category", true], ["state", false]]);
  });

  it("puts the scopes of an if on a check made earlier into a variable", async () => {
    const x = await extract(py`
      def pay(request):
          allowed = request.user.has_perm("billing.pay")
          if not allowed:
              return HttpResponseForbidden()
          do_pay()
    `, "pay");
    const [check] = x.events("check");
    expect(check!.site.line).toBe(x.line("allowed ="));
    expect(x.lines(check!.scopes)).toEqual([x.line("return"), x.line("do_pay")]);
    expect(x.fn.denies).toBe(true);
  });
});

describe("decorators and returned checks", () => {
  it("makes permission_required and user_passes_test guard the body, a staff-only lambda a staff check, login_required nothing", async () => {
    const x = await extract(py`
      @login_required
      @permission_required("billing.pay")
      @user_passes_test(lambda u: u.is_staff)
      @user_passes_test(lambda u: u.groups.filter(name="x").exists())
      def pay(request):
          do_pay()
    `, "pay");
    const checks = x.events("check");
    expect(checks.map((c) => [c.kind, c.guard])).toEqual([["perm", "decorator"], ["staff", "decorator"], ["helper", "decorator"]]);
    expect(x.lines(checks[0]!.scopes)).toEqual([x.line("do_pay")]);
  });

  it("notes a function that returns a permission check, but not one returning a staff flag", async () => {
    const x = await extract(py`
      class CanPay(BasePermission):
          def has_permission(self, request, view):
              return request.user.has_perm("billing.pay")
          def has_object_permission(self, request, view, obj):
              return request.user.is_staff
    `, "CanPay.has_permission");
    expect(x.fn.returnsCheck).toBe("perm");
    const staff = await extract(x.source, "CanPay.has_object_permission");
    expect(staff.fn.returnsCheck).toBeNull();
    expect(staff.def("obj")).toMatchObject({ origin: "fetch", query: { source: "get_object()", locked: false } });
  });
});

describe("the permission cache", () => {
  it("records each way of dropping ModelBackend's cache as a permission-cache refresh of the user", async () => {
    const x = await extract(py`
      def grant(request, user):
          user.user_permissions.add(perm)
          del user._perm_cache
          delattr(user, "_user_perm_cache")
          user.__dict__.pop("_group_perm_cache", None)
    `, "grant");
    const user = x.def("user").id;
    expect(x.events("refresh").map((r) => [r.def, r.permCache])).toEqual([[user, true], [user, true], [user, true]]);
  });

  it("does not take delattr() or __dict__.pop() of other attributes for a cache clear", async () => {
    const x = await extract(py`
      def reset(request, obj):
          delattr(obj, "name")
          obj.__dict__.pop("cached_total", None)
    `, "reset");
    expect(x.events("refresh")).toEqual([]);
  });
});
