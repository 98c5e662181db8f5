/**
 * The cursor `copyTree` walks a tree with, in one of two forms.
 *
 * web-tree-sitter's `TreeCursor` keeps the cursor's state in JavaScript: every call writes it into
 * the wasm module's transfer buffer with four generic `setValue` calls, calls the export, and
 * reads it back with four `getValue` calls. Over Django + DRF (1.1 million nodes) that marshalling
 * costs about four times the walk itself. The exports only need the state to be in the transfer
 * buffer when they are called, and it stays there between calls as long as nothing else uses the
 * buffer, so the direct cursor calls them with no marshalling at all and writes the state back
 * into the `TreeCursor` once, before freeing it.
 *
 * The direct cursor depends on internals of web-tree-sitter (its Emscripten module and export
 * names), so `parser.ts` only enables it when every export it needs is there and it copies a
 * sample tree exactly as the public cursor does; otherwise the public cursor is used.
 */
import type { Tree, TreeCursor } from "web-tree-sitter";

/** What `copyTree` reads from a cursor: movement, and the node the cursor is on. */
export interface CursorReader {
  gotoFirstChild(): boolean;
  gotoNextSibling(): boolean;
  gotoParent(): boolean;
  typeId(): number;
  isMissing(): boolean;
  /** Offsets in UTF-16 code units, as `Node.startIndex` and `Node.endIndex`. */
  startIndex(): number;
  endIndex(): number;
  /** 0 when the node fills no field. */
  fieldId(): number;
  /** Frees the cursor; the reader is not used again. */
  close(): void;
}

/** The exports the direct cursor calls; each reads the cursor from the transfer buffer. */
interface CursorExports {
  transferBuffer: number;
  /** Emscripten's `getValue(address, "i32")`: wasm memory is little-endian whatever the host. */
  readWord: (address: number) => number;
  first: (tree: number) => number;
  next: (tree: number) => number;
  parent: (tree: number) => number;
  typeId: (tree: number) => number;
  isMissing: (tree: number) => number;
  start: (tree: number) => number;
  end: (tree: number) => number;
  field: (tree: number) => number;
}

const EXPORT_NAMES = {
  first: "_ts_tree_cursor_goto_first_child_wasm",
  next: "_ts_tree_cursor_goto_next_sibling_wasm",
  parent: "_ts_tree_cursor_goto_parent_wasm",
  typeId: "_ts_tree_cursor_current_node_type_id_wasm",
  isMissing: "_ts_tree_cursor_current_node_is_missing_wasm",
  start: "_ts_tree_cursor_start_index_wasm",
  end: "_ts_tree_cursor_end_index_wasm",
  field: "_ts_tree_cursor_current_field_id_wasm",
} as const;

/** Set by `enableDirectCursor`; null: every cursor is the public one. */
let direct: CursorExports | null = null;

/**
 * Takes the exports the direct cursor needs from web-tree-sitter's Emscripten module (the object
 * given to `Parser.init`, which Emscripten fills in). Returns whether they were all there.
 */
export function enableDirectCursor(module: Record<string, unknown>): boolean {
  direct = null;
  const init = module["_ts_init"];
  const getValue = module["getValue"];
  if (typeof init !== "function" || typeof getValue !== "function") return false;
  const found: Partial<Record<keyof typeof EXPORT_NAMES, (tree: number) => number>> = {};
  for (const [key, name] of Object.entries(EXPORT_NAMES) as [keyof typeof EXPORT_NAMES, string][]) {
    const fn = module[name];
    if (typeof fn !== "function") return false;
    found[key] = fn as (tree: number) => number;
  }
  // `ts_init` only returns the buffer's address (and writes the language versions into it).
  const transferBuffer = (init as () => number)();
  if (!Number.isInteger(transferBuffer) || transferBuffer <= 0 || transferBuffer % 4 !== 0) return false;
  const readWord = (address: number) => (getValue as (address: number, type: string) => number)(address, "i32");
  direct = { transferBuffer, readWord, ...(found as Omit<CursorExports, "transferBuffer" | "readWord">) };
  return true;
}

export function disableDirectCursor(): void {
  direct = null;
}

/** Which cursor `openCursor` gives: for tests and the benchmark, which must not lose the direct one unnoticed. */
export function cursorKind(): "direct" | "public" {
  return direct ? "direct" : "public";
}

/**
 * A cursor on the root of `tree`: the direct one when enabled and the new cursor's state is in
 * the transfer buffer as expected. Nothing else may use web-tree-sitter until it is closed.
 */
export function openCursor(tree: Tree): CursorReader {
  const cursor = tree.walk();
  const handles = (cursor as unknown as { handles?: unknown }).handles;
  const address = (tree as unknown as Record<number, unknown>)[0];
  if (direct && Array.isArray(handles) && handles.length === 4 && typeof address === "number" && inTransferBuffer(direct, handles as number[])) {
    return new DirectCursor(direct, cursor, handles as number[], address);
  }
  return new PublicCursor(cursor);
}

/** Does the transfer buffer hold the state `tree.walk()` just gave the `TreeCursor`? */
function inTransferBuffer(exports: CursorExports, handles: readonly number[]): boolean {
  for (let i = 0; i < 4; i++) if (exports.readWord(exports.transferBuffer + 4 * i) !== handles[i]) return false;
  return true;
}

/** A cursor through web-tree-sitter's public API. */
export function openPublicCursor(tree: Tree): CursorReader {
  return new PublicCursor(tree.walk());
}

class PublicCursor implements CursorReader {
  constructor(private readonly cursor: TreeCursor) {}
  gotoFirstChild(): boolean {
    return this.cursor.gotoFirstChild();
  }
  gotoNextSibling(): boolean {
    return this.cursor.gotoNextSibling();
  }
  gotoParent(): boolean {
    return this.cursor.gotoParent();
  }
  typeId(): number {
    return this.cursor.nodeTypeId;
  }
  isMissing(): boolean {
    return this.cursor.nodeIsMissing;
  }
  startIndex(): number {
    return this.cursor.startIndex;
  }
  endIndex(): number {
    return this.cursor.endIndex;
  }
  fieldId(): number {
    return this.cursor.currentFieldId;
  }
  close(): void {
    this.cursor.delete();
  }
}

class DirectCursor implements CursorReader {
  // The exports are copied into fields: the Emscripten module object is too big for fast lookups.
  private readonly first: (tree: number) => number;
  private readonly next: (tree: number) => number;
  private readonly parent: (tree: number) => number;
  private readonly type: (tree: number) => number;
  private readonly missing: (tree: number) => number;
  private readonly start: (tree: number) => number;
  private readonly end: (tree: number) => number;
  private readonly field: (tree: number) => number;

  constructor(
    private readonly exports: CursorExports,
    private readonly cursor: TreeCursor,
    private readonly handles: number[],
    private readonly tree: number,
  ) {
    // `tree.walk()` has just left the new cursor's state in the transfer buffer.
    this.first = exports.first;
    this.next = exports.next;
    this.parent = exports.parent;
    this.type = exports.typeId;
    this.missing = exports.isMissing;
    this.start = exports.start;
    this.end = exports.end;
    this.field = exports.field;
  }
  gotoFirstChild(): boolean {
    return this.first(this.tree) === 1;
  }
  gotoNextSibling(): boolean {
    return this.next(this.tree) === 1;
  }
  gotoParent(): boolean {
    return this.parent(this.tree) === 1;
  }
  typeId(): number {
    return this.type(this.tree);
  }
  isMissing(): boolean {
    return this.missing(this.tree) === 1;
  }
  startIndex(): number {
    return this.start(this.tree);
  }
  endIndex(): number {
    return this.end(this.tree);
  }
  fieldId(): number {
    return this.field(this.tree);
  }
  close(): void {
    // The cursor's stack may have been reallocated while walking: free the current one.
    for (let i = 0; i < 4; i++) this.handles[i] = this.exports.readWord(this.exports.transferBuffer + 4 * i);
    this.cursor.delete();
  }
}
