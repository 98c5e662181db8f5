/**
 * A minimal HTTP/1.1 client over raw sockets, because last-byte synchronisation needs control
 * of what is written when: each request is written in two parts, its head minus the final
 * byte ahead of time, then that byte plus the body at the release. Every request carries
 * `Connection: close`; responses are parsed with Content-Length, chunked or until close.
 */
import { type Socket, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { describeCharacter } from "./escape.js";
import type { Target } from "./target.js";

export interface WireRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: string | null;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class HttpError extends Error {}

/**
 * What a request head may hold, checked once more as it is encoded: tab, printable ASCII and
 * printable Latin-1. The head is written as Latin-1, one byte per character, so anything else
 * would be sent as some other byte: U+010A as 0x0A, a line feed (header injection, request splitting).
 */
const HEAD_TEXT = /^[\t\x20-\x7e\xa0-\xff]*$/;

/** The bytes of a request, split at the release point: `ahead` is everything up to the last byte of the head. */
export function encodeRequest(target: Target, request: WireRequest): { ahead: Buffer; release: Buffer } {
  const body = request.body === null ? Buffer.alloc(0) : Buffer.from(request.body, "utf8");
  const lines = [`${request.method} ${target.basePath}${request.path} HTTP/1.1`, `Host: ${target.hostHeader}`];
  const names = new Set(request.headers.map(([n]) => n.toLowerCase()));
  if (!names.has("user-agent")) lines.push("User-Agent: stalecheck-probe");
  if (!names.has("accept")) lines.push("Accept: application/json, */*");
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (request.body !== null || !["GET", "HEAD", "DELETE", "OPTIONS"].includes(request.method)) lines.push(`Content-Length: ${body.length}`);
  lines.push("Connection: close");
  // wire() and the option parser refuse such text with a clear message; this is the last guard.
  const bad = lines.find((line) => !HEAD_TEXT.test(line));
  if (bad !== undefined) throw new HttpError(`refusing to send a request head line holding ${describeCharacter(/[^\t\x20-\x7e\xa0-\xff]/u.exec(bad)![0])}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return { ahead: head.subarray(0, head.length - 1), release: Buffer.concat([head.subarray(head.length - 1), body]) };
}

/** One connection carrying one request: connect, send the head ahead, release, read the answer. */
export class PendingRequest {
  private socket: Socket | null = null;
  private readonly reader = new ResponseReader();
  private settled = false;
  private resolveResponse!: (r: HttpResponse) => void;
  private rejectResponse!: (e: Error) => void;
  private timer: NodeJS.Timeout | null = null;
  readonly response: Promise<HttpResponse>;
  /** Milliseconds (performance.now()) when the release bytes were handed to the socket, and when the answer was complete. */
  releasedAt: number | null = null;
  answeredAt: number | null = null;

  constructor(private readonly target: Target, private readonly address: string, private readonly bytes: { ahead: Buffer; release: Buffer }, private readonly timeoutMs: number) {
    this.response = new Promise<HttpResponse>((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    // The caller may only await `response` after the release; never leave it unhandled meanwhile.
    this.response.catch(() => undefined);
  }

  /** Opens the connection and writes everything but the release bytes. */
  async prepare(): Promise<void> {
    this.timer = setTimeout(() => this.fail(new HttpError(`no complete answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const options = { host: this.address, port: this.target.port };
      const s: Socket =
        this.target.protocol === "https:"
          ? tlsConnect({ ...options, servername: this.target.hostname === this.address ? undefined : this.target.hostname }, () => resolve(s))
          : netConnect(options, () => resolve(s));
      s.once("error", reject);
    }).catch((error: Error) => {
      this.fail(new HttpError(`cannot connect to ${this.target.origin}: ${error.message}`));
      throw this.failure!;
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      if (this.settled) return;
      try {
        this.reader.push(chunk);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      this.tryComplete(false);
    });
    socket.on("end", () => this.tryComplete(true));
    socket.on("close", () => this.tryComplete(true));
    socket.on("error", (error) => this.fail(new HttpError(`connection error: ${error.message}`)));
    await new Promise<void>((resolve) => socket.write(this.bytes.ahead, () => resolve()));
  }

  /** Writes the release bytes; synchronous, so a loop over many requests sends them back to back. */
  release(): void {
    if (this.settled || !this.socket) return;
    this.releasedAt = performance.now();
    this.socket.write(this.bytes.release);
  }

  private failure: Error | null = null;

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.failure = error;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.destroy();
    this.rejectResponse(error);
  }

  private tryComplete(closed: boolean): void {
    if (this.settled) return;
    let parsed: HttpResponse | null;
    try {
      parsed = this.reader.result(closed);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (parsed) {
      this.settled = true;
      this.answeredAt = performance.now();
      if (this.timer) clearTimeout(this.timer);
      this.socket?.destroy();
      this.resolveResponse(parsed);
    } else if (closed) {
      this.fail(new HttpError("the connection closed before a complete answer"));
    }
  }

  /** Ends the connection if it is still open (used when a round is abandoned). */
  abort(reason: string): void {
    this.fail(new HttpError(reason));
  }
}

/** Parses a complete response from `data`, or returns null when more bytes are needed. */
export function parseResponse(data: Buffer, closed: boolean): HttpResponse | null {
  const reader = new ResponseReader();
  reader.push(data);
  return reader.result(closed);
}

/** An answer larger than this is refused: the probe keeps answers in memory, and only needs their status and JSON. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

interface Head {
  status: number;
  headers: Record<string, string>;
  /** Offset of the body in the received bytes. */
  bodyStart: number;
  framing: { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };
}

/**
 * Reads an answer as its bytes arrive, in time linear in its size: the bytes go into one
 * buffer that doubles when full, and every search (the end of the head, a chunk-size line)
 * resumes where the last one stopped instead of starting over on every packet. `scanned`
 * counts the bytes searched, which the tests check stays proportional to the answer's size.
 */
export class ResponseReader {
  private buffer = Buffer.alloc(4096);
  private length = 0;
  /** Where the search for the end of the head resumes. */
  private headSearchFrom = 0;
  private head: Head | null = null;
  /** Chunked bodies: where the next size line (or, once `size` is read, the chunk's data) starts. */
  private readonly chunked = { at: 0, searchFrom: 0, size: null as number | null, parts: [] as Buffer[], done: false };
  /** Bytes examined by searches so far. */
  scanned = 0;

  push(chunk: Buffer): void {
    if (this.length + chunk.length > MAX_RESPONSE_BYTES) throw new HttpError(`the answer is larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB`);
    if (this.length + chunk.length > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + chunk.length));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    chunk.copy(this.buffer, this.length);
    this.length += chunk.length;
  }

  /** The complete answer, or null while more bytes are needed; `closed`: no more will come. */
  result(closed: boolean): HttpResponse | null {
    const data = this.buffer.subarray(0, this.length);
    if (!this.head) {
      const headEnd = this.search(data, "\r\n\r\n", this.headSearchFrom);
      if (headEnd < 0) {
        this.headSearchFrom = Math.max(0, this.length - 3);
        if (closed) throw new HttpError(this.length === 0 ? "the server closed the connection without answering" : "malformed answer (no end of headers)");
        return null;
      }
      this.head = parseHead(data, headEnd);
      this.chunked.at = this.chunked.searchFrom = this.head.bodyStart;
    }
    const { status, headers, bodyStart, framing } = this.head;
    switch (framing.kind) {
      case "none":
        return { status, headers, body: "" };
      case "length":
        if (this.length - bodyStart < framing.length) {
          if (closed) throw new HttpError("the connection closed before the whole body arrived");
          return null;
        }
        return { status, headers, body: data.subarray(bodyStart, bodyStart + framing.length).toString("utf8") };
      case "chunked":
        if (!this.readChunks(data)) {
          if (closed) throw new HttpError("the connection closed inside a chunked answer");
          return null;
        }
        return { status, headers, body: Buffer.concat(this.chunked.parts).toString("utf8") };
      case "close":
        return closed ? { status, headers, body: data.subarray(bodyStart).toString("utf8") } : null;
    }
  }

  /** Decodes the chunks that have fully arrived; true once the last (size 0) has. */
  private readChunks(data: Buffer): boolean {
    const state = this.chunked;
    if (state.done) return true;
    for (;;) {
      if (state.size === null) {
        const lineEnd = this.search(data, "\r\n", state.searchFrom);
        if (lineEnd < 0) {
          state.searchFrom = Math.max(state.at, this.length - 1);
          return false;
        }
        const size = parseInt(data.subarray(state.at, lineEnd).toString("latin1").split(";")[0]!.trim(), 16);
        if (!Number.isFinite(size)) throw new HttpError("malformed chunk size");
        if (size === 0) {
          state.done = true;
          return true;
        }
        state.size = size;
        state.at = lineEnd + 2;
      }
      if (this.length < state.at + state.size + 2) return false;
      state.parts.push(Buffer.from(data.subarray(state.at, state.at + state.size)));
      state.at = state.searchFrom = state.at + state.size + 2;
      state.size = null;
    }
  }

  private search(data: Buffer, needle: string, from: number): number {
    const found = data.indexOf(needle, from, "latin1");
    this.scanned += (found < 0 ? data.length : found + needle.length) - from;
    return found;
  }
}

function parseHead(data: Buffer, headEnd: number): Head {
  const headLines = data.subarray(0, headEnd).toString("latin1").split("\r\n");
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(headLines[0]!);
  if (!statusMatch) throw new HttpError(`malformed status line "${headLines[0]!.slice(0, 40)}"`);
  const status = Number(statusMatch[1]);
  const headers: Record<string, string> = {};
  for (const line of headLines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const bodyStart = headEnd + 4;
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, headers, bodyStart, framing: { kind: "none" } };
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) return { status, headers, bodyStart, framing: { kind: "chunked" } };
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (!Number.isInteger(length) || length < 0) throw new HttpError("malformed Content-Length");
    return { status, headers, bodyStart, framing: { kind: "length", length } };
  }
  return { status, headers, bodyStart, framing: { kind: "close" } };
}
