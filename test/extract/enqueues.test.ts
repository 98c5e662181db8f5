/** Task enqueues in a function's facts: the task, and the variables whose values it is handed. */
import { describe, expect, it } from "vitest";
import { extract, py } from "../helpers/functionFacts.js";

describe("enqueues", () => {
  it("records delay() and apply_async() as enqueue writes naming the task", async () => {
    const x = await extract(py`
      def pay(request, pk):
          send_receipt.delay(pk)
          tasks.notify.apply_async(args=[pk], countdown=5)
          app.send_task("billing.settle", args=[pk])
          queue.enqueue(settle, pk)
    `, "pay");
    expect(x.events("write").map((w) => [w.op, w.task])).toEqual([
      ["enqueue", "send_receipt"], ["enqueue", "tasks.notify"], ["enqueue", "app"], ["enqueue", "queue"],
    ]);
  });

  it("hands the task the variables its arguments come from, through derived values", async () => {
    const x = await extract(py`
      def pay(request, pk):
          inv = Invoice.objects.get(pk=pk)
          data = InvoiceSerializer(inv).data
          settle.delay(data)
    `, "pay");
    const [write] = x.events("write");
    expect(write!.defs).toEqual([x.def("inv").id, x.def("data").id]);
  });

  it("does not take a function named delay, or a method only starting like one, for an enqueue", async () => {
    const x = await extract(py`
      def pay(request, job):
          delay(5)
          job.delay_seconds()
          job.enqueued_at()
    `, "pay");
    expect(x.events("write")).toEqual([]);
  });
});
