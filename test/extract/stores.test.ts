/** Session and cache in a function's facts: stores that outlive the request, and session reads that decide. */
import { describe, expect, it } from "vitest";
import { extract, py } from "../helpers/functionFacts.js";

describe("stores", () => {
  it("records a session key set, with the kind of check whose answer it keeps", async () => {
    const x = await extract(py`
      def verify(request):
          request.session["verified"] = True
          request.session["can_pay"] = request.user.has_perm("billing.pay")
    `, "verify");
    expect(x.events("store").map((s) => [s.target, s.key, s.valueCheck])).toEqual([["session", "verified", null], ["session", "can_pay", "perm"]]);
    // The check is seen once, as the stored value: not again as a sub-expression.
    expect(x.events("check")).toHaveLength(1);
  });

  it("records cache.set() with the check a variable held, or the call whose result it stores", async () => {
    const x = await extract(py`
      def remember(request, key):
          allowed = request.user.has_perm("billing.pay")
          cache.set(key, allowed)
          caches["perms"].set(key, compute_access(request.user), 60)
    `, "remember");
    expect(x.events("store").map((s) => [s.target, s.valueCheck, s.valueCallee])).toEqual([["cache", "perm", null], ["cache", null, "compute_access"]]);
  });

  it("records stores into module-level and class-level containers, not into locals or parameters", async () => {
    const x = await extract(py`
      class Checker:
          def remember(self, user, seen):
              _PERMS[user.pk] = True
              self.__class__._cache[user.pk] = True
              Checker._by_user[user.pk] = True
              local = {}
              local[user.pk] = True
              seen[user.pk] = True
    `, "Checker.remember");
    expect(x.events("store").map((s) => s.target)).toEqual(["_PERMS", "class:_cache", "class:_by_user"]);
  });
});

describe("session reads", () => {
  it("reads a literal session key deciding a branch as a session check, however it is read", async () => {
    const x = await extract(py`
      def pay(request):
          if request.session.get("verified"):
              pass
          if "otp_ok" in request.session:
              pass
          if self.request.session["mfa"]:
              pass
    `, "pay");
    expect(x.events("check").map((c) => [c.kind, c.key])).toEqual([["session", "verified"], ["session", "otp_ok"], ["session", "mfa"]]);
  });

  it("makes no session check of a computed key or of another dict's get()", async () => {
    const x = await extract(py`
      def pay(request, key):
          if request.session.get(key):
              pass
          if request.POST.get("verified"):
              pass
    `, "pay");
    expect(x.events("check")).toEqual([]);
  });
});
