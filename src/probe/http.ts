/**
 * A minimal HTTP/1.1 client over raw sockets, because last-byte synchronisation needs control
 * of what is written when: each request is written in two parts, its head minus the final
 * byte ahead of time, then that byte plus the body at the release. Every request carries
 * `Connection: close`; responses are parsed with Content-Length, chunked or until close.
 */
import { type Socket, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
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
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return { ahead: head.subarray(0, head.length - 1), release: Buffer.concat([head.subarray(head.length - 1), body]) };
}

/** One connection carrying one request: connect, send the head ahead, release, read the answer. */
export class PendingRequest {
  private socket: Socket | null = null;
  private chunks: Buffer[] = [];
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
      this.chunks.push(chunk);
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
      parsed = parseResponse(Buffer.concat(this.chunks), closed);
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
  const headEnd = data.indexOf("\r\n\r\n");
  if (headEnd < 0) {
    if (closed) throw new HttpError(data.length === 0 ? "the server closed the connection without answering" : "malformed answer (no end of headers)");
    return null;
  }
  const headLines = data.subarray(0, headEnd).toString("latin1").split("\r\n");
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(headLines[0]!);
  if (!statusMatch) throw new HttpError(`malformed status line "${headLines[0]!.slice(0, 40)}"`);
  const status = Number(statusMatch[1]);
  const headers: Record<string, string> = {};
  for (const line of headLines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.subarray(headEnd + 4);
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, headers, body: "" };
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const body = decodeChunked(rest);
    if (body === null) {
      if (closed) throw new HttpError("the connection closed inside a chunked answer");
      return null;
    }
    return { status, headers, body: body.toString("utf8") };
  }
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (!Number.isInteger(length) || length < 0) throw new HttpError("malformed Content-Length");
    if (rest.length < length) {
      if (closed) throw new HttpError("the connection closed before the whole body arrived");
      return null;
    }
    return { status, headers, body: rest.subarray(0, length).toString("utf8") };
  }
  return closed ? { status, headers, body: rest.toString("utf8") } : null;
}

function decodeChunked(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", offset);
    if (lineEnd < 0) return null;
    const size = parseInt(data.subarray(offset, lineEnd).toString("latin1").split(";")[0]!.trim(), 16);
    if (!Number.isFinite(size)) throw new HttpError("malformed chunk size");
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return null;
    parts.push(data.subarray(start, start + size));
    offset = start + size + 2;
  }
}
