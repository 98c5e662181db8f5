/** Slow work in a function's facts: network, mail, subprocesses and sleeps that widen a race window. */
import { describe, expect, it } from "vitest";
import { extract, py } from "../helpers/functionFacts.js";

describe("slow work", () => {
  it("records calls into network, subprocess and payment modules, by the module a name is imported from", async () => {
    const x = await extract(py`
      import httpx as web
      from stripe import Charge

      def pay(request):
          requests.post("https://example.com")
          web.get("https://example.com")
          Charge.create(amount=1)
          subprocess.run(["true"])
    `, "pay");
    expect(x.events("slow").map((s) => s.what)).toEqual(["requests.post", "web.get", "Charge.create", "subprocess.run"]);
  });

  it("records sleeping and sending mail, as functions or methods", async () => {
    const x = await extract(py`
      def pay(request):
          sleep(1)
          time.sleep(1)
          send_mail("paid", "body", "a@example.com", ["b@example.com"])
    `, "pay");
    expect(x.events("slow").map((s) => [s.site.line, s.what])).toEqual([
      [x.line("    sleep(1)"), "sleep"], [x.line("time.sleep"), "time.sleep"], [x.line("send_mail"), "send_mail"],
    ]);
  });

  it("does not take a method of a local or self attribute named like a module for slow work", async () => {
    const x = await extract(py`
      def pay(request, session):
          session.post("https://example.com")
          self.requests.get()
          requests_made.append(1)
    `, "pay");
    expect(x.events("slow")).toEqual([]);
  });

  it("places slow work inside the atomic block it runs in", async () => {
    const x = await extract(py`
      def pay(request, pk):
          with transaction.atomic():
              inv = Invoice.objects.select_for_update().get(pk=pk)
              requests.post("https://psp.example.com", data={"amount": inv.total})
              inv.save()
    `, "pay");
    const [slow] = x.events("slow");
    const [atomic] = x.fn.regions.filter((r) => r.kind === "atomic");
    expect(slow!.pos).toBeGreaterThanOrEqual(atomic!.span[0]);
    expect(slow!.pos).toBeLessThan(atomic!.span[1]);
  });
});
