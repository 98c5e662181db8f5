/**
 * A small YAML subset, enough for probe scenario files without a dependency: block mappings
 * and sequences, plain, single- and double-quoted scalars, flow collections (`[a, b]`,
 * `{a: 1}`), literal (`|`) and folded (`>`) block scalars, and comments. Anchors, aliases,
 * tags and multiple documents are refused with the line number, never half-understood.
 */

export class YamlError extends Error {
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
  }
}

interface Line {
  no: number;
  indent: number;
  text: string;
}

export function parseYaml(source: string): unknown {
  const raw = source.replace(/^\uFEFF/, "").split(/\r?\n/);
  const parser = new BlockParser(raw);
  return parser.document();
}

class BlockParser {
  private lines: Line[] = [];
  private pos = 0;

  constructor(private readonly raw: string[]) {
    let seenStart = false;
    for (let i = 0; i < raw.length; i++) {
      const line = raw[i]!;
      const indentMatch = /^[ \t]*/.exec(line)![0];
      if (indentMatch.includes("\t") && line.trim() !== "") throw new YamlError("tabs are not allowed in indentation", i + 1);
      const text = stripComment(line.slice(indentMatch.length)).trimEnd();
      if (text === "") continue;
      if (indentMatch.length === 0 && (text === "---" || text.startsWith("--- "))) {
        if (seenStart || this.lines.length > 0) throw new YamlError("only one YAML document is supported", i + 1);
        seenStart = true;
        if (text.length > 3) this.lines.push({ no: i + 1, indent: 4, text: text.slice(4).trim() });
        continue;
      }
      if (indentMatch.length === 0 && text === "...") break;
      this.lines.push({ no: i + 1, indent: indentMatch.length, text });
    }
  }

  document(): unknown {
    if (this.lines.length === 0) return null;
    const first = this.lines[0]!;
    const value = this.block(first.indent);
    if (this.pos < this.lines.length) {
      const line = this.lines[this.pos]!;
      throw new YamlError(`unexpected indentation or content: "${line.text}"`, line.no);
    }
    return value;
  }

  private block(indent: number): unknown {
    const line = this.lines[this.pos]!;
    if (isSequenceItem(line.text)) return this.sequence(indent);
    if (findMappingColon(line.text) >= 0) return this.mapping(indent);
    this.pos++;
    const next = this.lines[this.pos];
    if (next && next.indent > indent) throw new YamlError("multi-line plain scalars are not supported; quote the value or use | or >", next.no);
    return parseInlineValue(line.text, line.no);
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.pos < this.lines.length) {
      const line = this.lines[this.pos]!;
      if (line.indent < indent) break;
      if (line.indent > indent) throw new YamlError(`unexpected indentation: "${line.text}"`, line.no);
      if (isSequenceItem(line.text)) throw new YamlError("a sequence item where a mapping key was expected", line.no);
      const colon = findMappingColon(line.text);
      if (colon < 0) throw new YamlError(`expected "key: value", found "${line.text}"`, line.no);
      const key = parseKey(line.text.slice(0, colon).trim(), line.no);
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new YamlError(`duplicate key "${key}"`, line.no);
      const rest = line.text.slice(colon + 1).trim();
      this.pos++;
      out[key] = this.valueAfterIndicator(rest, indent, line, true);
    }
    return out;
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.pos < this.lines.length) {
      const line = this.lines[this.pos]!;
      if (line.indent < indent) break;
      if (line.indent > indent) throw new YamlError(`unexpected indentation: "${line.text}"`, line.no);
      if (!isSequenceItem(line.text)) break;
      const offset = line.text === "-" ? 1 : 1 + /^-\s+/.exec(line.text)![0].length - 1;
      const rest = line.text.slice(offset).trim();
      if (rest !== "" && (isSequenceItem(rest) || (findMappingColon(rest) >= 0 && !/^[[{"']/.test(rest)))) {
        // "- key: value" or "- - x": the item is a block collection starting on this line.
        const itemIndent = line.indent + line.text.indexOf(rest);
        this.lines[this.pos] = { no: line.no, indent: itemIndent, text: rest };
        out.push(this.block(itemIndent));
        continue;
      }
      this.pos++;
      out.push(this.valueAfterIndicator(rest, indent, line, false));
    }
    return out;
  }

  /** The value after `key:` or `-`: inline, a block scalar, or a nested block on the next lines. */
  private valueAfterIndicator(rest: string, indent: number, line: Line, inMapping: boolean): unknown {
    if (/^[|>][+-]?$/.test(rest)) return this.blockScalar(rest, indent, line);
    if (rest !== "") return parseInlineValue(rest, line.no);
    const next = this.lines[this.pos];
    if (!next) return null;
    if (next.indent > indent) return this.block(next.indent);
    // YAML allows a mapping's sequence value at the key's own indentation.
    if (inMapping && next.indent === indent && isSequenceItem(next.text)) return this.sequence(indent);
    return null;
  }

  private blockScalar(indicator: string, parentIndent: number, header: Line): string {
    const folded = indicator.startsWith(">");
    const chomp = indicator.slice(1);
    const body: string[] = [];
    let contentIndent = -1;
    let rawIndex = header.no; // raw[] is 0-based, so this is the line after the header
    for (; rawIndex < this.raw.length; rawIndex++) {
      const rawLine = this.raw[rawIndex]!;
      if (rawLine.trim() === "") {
        body.push("");
        continue;
      }
      const indent = /^ */.exec(rawLine)![0].length;
      if (indent <= parentIndent) break;
      if (contentIndent < 0) contentIndent = indent;
      if (indent < contentIndent) throw new YamlError("block scalar line is less indented than its first line", rawIndex + 1);
      body.push(rawLine.slice(contentIndent));
    }
    while (this.pos < this.lines.length && this.lines[this.pos]!.no <= rawIndex) this.pos++;
    while (body.length > 0 && body[body.length - 1] === "") body.pop();
    let text = folded ? foldLines(body) : body.join("\n");
    if (chomp !== "-" && text !== "") text += "\n";
    return text;
  }
}

function foldLines(lines: string[]): string {
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (i === 0) out = line;
    else if (line === "" || lines[i - 1] === "") out += "\n" + line;
    else out += " " + line;
  }
  return out;
}

function isSequenceItem(text: string): boolean {
  return text === "-" || /^-\s/.test(text);
}

/** Index of the `:` that separates a key from its value (followed by a space or the end), outside quotes. */
function findMappingColon(text: string): number {
  if (text.startsWith("[") || text.startsWith("{")) return -1;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if ((c === '"' || c === "'") && i === 0) {
      quote = c;
      continue;
    }
    if (c === ":" && (i === text.length - 1 || text[i + 1] === " ")) return i;
  }
  return -1;
}

function parseKey(text: string, line: number): string {
  if (text === "") throw new YamlError("empty mapping key", line);
  if (text.startsWith('"') || text.startsWith("'")) {
    const value = parseInlineValue(text, line);
    if (typeof value !== "string") throw new YamlError(`bad key ${text}`, line);
    return value;
  }
  if (/^[&*!]/.test(text) || text.startsWith("? ")) throw new YamlError(`unsupported YAML feature in key "${text}" (anchors, aliases, tags, complex keys)`, line);
  return text;
}

function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === "'" && quote === "'" && text[i + 1] === "'") i++; // '' is an escaped quote
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") {
      // A quote only opens a quoted scalar at the start of a token.
      if (i === 0 || /[\s:,[{-]/.test(text[i - 1]!)) quote = c;
      continue;
    }
    if (c === "#" && (i === 0 || text[i - 1] === " ")) return text.slice(0, i);
  }
  return text;
}

/** A value written on one line: a quoted or plain scalar, or a flow collection. */
export function parseInlineValue(text: string, line: number): unknown {
  const flow = new FlowParser(text, line);
  const value = flow.value(true);
  flow.end();
  return value;
}

class FlowParser {
  private i = 0;
  constructor(private readonly text: string, private readonly line: number) {}

  end(): void {
    this.skipSpaces();
    if (this.i < this.text.length) throw new YamlError(`unexpected "${this.text.slice(this.i)}"`, this.line);
  }

  value(topLevel: boolean): unknown {
    this.skipSpaces();
    const c = this.text[this.i];
    if (c === "[") return this.flowSequence();
    if (c === "{") return this.flowMapping();
    if (c === '"') return this.doubleQuoted();
    if (c === "'") return this.singleQuoted();
    if (c === "&" || c === "*" || c === "!") throw new YamlError("anchors, aliases and tags are not supported", this.line);
    if (c === "|" || c === ">") throw new YamlError("block scalars must be the only thing after the key", this.line);
    return this.plain(topLevel);
  }

  private plain(topLevel: boolean): unknown {
    const start = this.i;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (!topLevel && (c === "," || c === "]" || c === "}")) break;
      if (!topLevel && c === ":" && (this.text[this.i + 1] === " " || this.text[this.i + 1] === undefined)) break;
      this.i++;
    }
    return plainScalar(this.text.slice(start, this.i).trim());
  }

  private doubleQuoted(): string {
    let out = "";
    this.i++;
    while (this.i < this.text.length) {
      const c = this.text[this.i++]!;
      if (c === '"') return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.i++];
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", "/": "/", "0": "\0", " ": " " };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === "u" || e === "x") {
        const len = e === "u" ? 4 : 2;
        const hex = this.text.slice(this.i, this.i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new YamlError(`bad escape \\${e}${hex}`, this.line);
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += len;
      } else throw new YamlError(`unsupported escape \\${e ?? ""}`, this.line);
    }
    throw new YamlError("unterminated double-quoted string", this.line);
  }

  private singleQuoted(): string {
    let out = "";
    this.i++;
    while (this.i < this.text.length) {
      const c = this.text[this.i++]!;
      if (c === "'") {
        if (this.text[this.i] === "'") {
          out += "'";
          this.i++;
          continue;
        }
        return out;
      }
      out += c;
    }
    throw new YamlError("unterminated single-quoted string", this.line);
  }

  private flowSequence(): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.skipSpaces();
    if (this.text[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(false));
      this.skipSpaces();
      const c = this.text[this.i++];
      if (c === "]") return out;
      if (c !== ",") throw new YamlError("expected , or ] in a flow sequence", this.line);
    }
  }

  private flowMapping(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.skipSpaces();
    if (this.text[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      const key = this.value(false);
      if (typeof key !== "string" && typeof key !== "number") throw new YamlError("flow mapping keys must be scalars", this.line);
      this.skipSpaces();
      if (this.text[this.i] !== ":") throw new YamlError("expected : in a flow mapping", this.line);
      this.i++;
      out[String(key)] = this.value(false);
      this.skipSpaces();
      const c = this.text[this.i++];
      if (c === "}") return out;
      if (c !== ",") throw new YamlError("expected , or } in a flow mapping", this.line);
    }
  }

  private skipSpaces(): void {
    while (this.text[this.i] === " ") this.i++;
  }
}

function plainScalar(text: string): unknown {
  if (text === "" || text === "~" || text === "null" || text === "Null" || text === "NULL") return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?\d+$/.test(text)) return Number(text);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  return text;
}
