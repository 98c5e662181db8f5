/**
 * The model a class-based view works on, from its `queryset = Invoice.objects…` or
 * `model = Invoice` (its own or inherited): the model of `self.get_object()` and
 * `self.get_queryset()` in its methods.
 */
import type { FileFacts, FunctionFacts } from "../extract/facts.js";
import { classAttr, classOf } from "./classes.js";
import type { ModuleIndex } from "./modules.js";

export function viewModel(index: ModuleIndex, file: FileFacts, fn: FunctionFacts): string | null {
  const cls = classOf(index, file, fn);
  if (!cls) return null;
  for (const attr of ["queryset", "model"]) {
    const value = classAttr(index, file, cls, attr)?.values[0];
    // `Invoice.objects.filter(...)`, `Invoice.objects`, `Invoice`, `models.Invoice`: the class named before `.objects`.
    const name = value?.split(/\.objects\b|\.(all|filter|select_related|prefetch_related|order_by)\(/)[0]?.split(".").pop();
    if (name && /^[A-Z]\w*$/.test(name)) return name;
  }
  return null;
}
