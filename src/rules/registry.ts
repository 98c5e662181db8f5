import { STC001 } from "./STC001-unused-suppression.js";
import { STC101 } from "./STC101-authz-check-outside-transaction.js";
import { STC102 } from "./STC102-missing-row-lock.js";
import { STC103 } from "./STC103-stale-user-attribute.js";
import { STC104 } from "./STC104-split-check-and-use.js";
import { STC105 } from "./STC105-ineffective-lock.js";
import { STC106 } from "./STC106-stale-permission-cache.js";
import { STC107 } from "./STC107-basic-auth-credential-cache.js";
import { STC108 } from "./STC108-check-then-create.js";
import type { Rule } from "../analysis/rule.js";

/** Every rule, in code order. */
export const RULES: readonly Rule[] = [STC001, STC101, STC102, STC103, STC104, STC105, STC106, STC107, STC108];

/** Finds a rule by code (`STC101`) or name (`missing-row-lock`), case-insensitively. */
export function findRule(codeOrName: string): Rule | undefined {
  const wanted = codeOrName.toLowerCase();
  return RULES.find((r) => r.meta.code.toLowerCase() === wanted || r.meta.name === wanted);
}

/**
 * Applies --select/--ignore: each entry is a code, a code prefix (`STC1`) or a rule name.
 * Returns the selected rules or the entries that match nothing.
 */
export function selectRules(select: readonly string[] | undefined, ignore: readonly string[] | undefined): { rules: Rule[]; unknown: string[] } {
  const unknown: string[] = [];
  const matches = (entry: string, rule: Rule): boolean => {
    const e = entry.trim();
    return rule.meta.name === e.toLowerCase() || rule.meta.code.toUpperCase().startsWith(e.toUpperCase());
  };
  for (const entry of [...(select ?? []), ...(ignore ?? [])]) {
    if (entry.toUpperCase() !== "ALL" && !RULES.some((r) => matches(entry, r))) unknown.push(entry);
  }
  const selected = RULES.filter((r) => !select || select.length === 0 || select.some((e) => e.toUpperCase() === "ALL" || matches(e, r)));
  const rules = selected.filter((r) => !(ignore ?? []).some((e) => matches(e, r)));
  return { rules, unknown };
}
