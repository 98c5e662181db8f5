/** Spellings of the request's user and session, which the recognisers treat as the caller's identity and state. */
import type { SyntaxNode } from "../../parse/parser.js";
import { field, stringValue } from "../syntax.js";

/** `request.user` or `self.request.user`. */
export function isRequestUser(node: SyntaxNode): boolean {
  return node.type === "attribute" && /^(self\.)?request\.user$/.test(node.text);
}

/** `request.session` or `self.request.session`. */
export function isRequestSession(node: SyntaxNode): boolean {
  return /^(self\.)?request\.session$/.test(node.text);
}

/** `request.session["k"]` → "k"; null for anything else. */
export function sessionKey(node: SyntaxNode): string | null {
  if (node.type !== "subscript") return null;
  const value = field(node, "value");
  const index = field(node, "subscript");
  if (!value || !index || !isRequestSession(value)) return null;
  return stringValue(index);
}
