/**
 * The one origin a probe may talk to, and the loopback rule: without --allow-remote every
 * address the target's host name resolves to must be a loopback address, and the probe
 * connects to the address it checked (no second resolution between check and use).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

export class TargetError extends Error {}

export interface Target {
  protocol: "http:" | "https:";
  /** Host name or address as written (brackets removed), for TLS SNI and the Host header. */
  hostname: string;
  port: number;
  /** `Host` header value. */
  hostHeader: string;
  /** Path prefix every request path is appended to ("" or "/app"). */
  basePath: string;
  /** `http://127.0.0.1:8000`: what reports print. */
  origin: string;
}

export function parseTarget(text: string): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TargetError(`--target "${text}" is not a URL such as http://127.0.0.1:8000`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TargetError(`--target must be an http:// or https:// URL, not ${url.protocol}`);
  if (url.username || url.password) throw new TargetError("--target must not contain credentials; pass them with --user USER:PASS (or --user env:VAR)");
  if (url.search || url.hash) throw new TargetError("--target must not contain a query or fragment; put them in the request path");
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return {
    protocol: url.protocol,
    hostname,
    port,
    hostHeader: url.host,
    basePath: url.pathname.replace(/\/+$/, ""),
    origin: `${url.protocol}//${url.host}`,
  };
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.x.y.z, ::ffff:7f00:1). */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return address.split(".")[0] === "127";
  if (family !== 6) return false;
  const lower = address.toLowerCase();
  if (lower === "::1" || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(lower)) return true;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/.exec(lower);
  if (!mapped) return false;
  const tail = mapped[1]!;
  if (isIP(tail) === 4) return tail.split(".")[0] === "127";
  const hex = /^([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(tail);
  return hex !== null && parseInt(hex[1]!, 16) >> 8 === 127;
}

export type Resolver = (hostname: string) => Promise<string[]>;

const systemResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The address to connect to. Refuses (TargetError) a target that is not loopback unless
 * allowRemote; a name is resolved once and every address it has must be loopback.
 */
export async function resolveTarget(target: Target, allowRemote: boolean, resolver: Resolver = systemResolver): Promise<string> {
  let addresses: string[];
  if (isIP(target.hostname)) addresses = [target.hostname];
  else {
    try {
      addresses = await resolver(target.hostname);
    } catch (error) {
      throw new TargetError(`cannot resolve ${target.hostname}: ${(error as Error).message}`);
    }
    if (addresses.length === 0) throw new TargetError(`${target.hostname} resolves to no address`);
  }
  if (!allowRemote) {
    const remote = addresses.filter((a) => !isLoopbackAddress(a));
    if (remote.length > 0) {
      const via = isIP(target.hostname) ? "" : ` (${target.hostname} resolves to ${remote.join(", ")})`;
      throw new TargetError(
        `refusing to probe ${target.origin}${via}: it is not a loopback address. ` +
          "stalecheck probe sends bursts of concurrent requests and mutates state; aim it only at a system you are authorised to test, " +
          "and pass --allow-remote to confirm a non-loopback target.",
      );
    }
  }
  return addresses[0]!;
}
