/** The callee tables: names that JavaScript objects also have are ordinary Python names. */
import { describe, expect, it } from "vitest";
import { extract, py } from "../helpers/functionFacts.js";

describe("callee names", () => {
  it("treats Object.prototype member names (constructor, toString, valueOf) as plain calls, not imports, checks or writes", async () => {
    const x = await extract(py`
      import requests

      def view(request, inv):
          toString.send()
          constructor.run()
          if request.user.constructor():
              pass
          inv.valueOf()
          Invoice.objects.filter(pk=1).hasOwnProperty()
          with constructor():
              pass
    `, "view");
    expect(x.events("call").map((c) => c.callee)).toEqual(["toString.send", "constructor.run", "request.user.constructor", "inv.valueOf", "constructor"]);
    expect(x.fn.events.filter((e) => e.type !== "call")).toEqual([]);
    expect(x.fn.regions).toEqual([]);
  });
});
