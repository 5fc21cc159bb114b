/**
 * What the one port decides from a request's first lines, before any route or listener sees it:
 * the request target, the Host header and the client's address. Pure functions of their input
 * and of config: nothing here throws, so no request can take a handler down on the way in.
 */
import { BlockList, isIP } from 'node:net';
import { ERRORS, type BridgeErrorCode } from '../errors.ts';
import type { HttpResponse } from '../contracts.ts';

/** An error row as an HTTP answer: the row's status, `{error, code}` as JSON. */
export function errorResponse(code: BridgeErrorCode, headers?: Record<string, string>): HttpResponse {
  const row = ERRORS[code];
  return { status: row.http, json: { error: row.reason, code }, ...(headers ? { headers } : {}) };
}

const BASE = 'http://relay';

/**
 * The request target as a URL, or null when it is not one the relay serves.
 *
 * Origin form (`/path?query`) is read as a path under a fixed base, never as a reference: `new
 * URL('//x', base)` reads `x` as a host, and throws for `//`, `//[` or `//a:b@` (the crash of issue
 * 9). A target starting with `//` (or `/\`, which URL parsers treat alike) is refused: no route
 * has one, and anything downstream that re-parses it would see a host where we saw a path.
 * Absolute form (`http://host/path`, which HTTP/1.1 servers must accept) keeps only its path and
 * query. Anything else (`*`, garbage) is null.
 */
export function parseTarget(raw: string | undefined): URL | null {
  if (raw === undefined || raw === '') return null;
  try {
    if (raw.startsWith('/')) {
      if (raw[1] === '/' || raw[1] === '\\') return null;
      const url = new URL(BASE + raw);
      return url.pathname.startsWith('//') ? null : url;
    }
    if (!/^https?:\/\//i.test(raw)) return null;
    const absolute = new URL(raw);
    const url = new URL(BASE + absolute.pathname + absolute.search);
    return url.pathname.startsWith('//') ? null : url;
  } catch {
    return null;
  }
}

/** host, host:port, [v6] or [v6]:port; names as DNS and container names write them (with `_`). */
const HOST_RE = /^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}))(?::(\d{1,5}))?$/;

/** A Host header split into lower-case host and port; null when it is not a well-formed Host. */
export function parseHost(value: string | undefined): { host: string; port: string | null } | null {
  if (value === undefined) return null;
  const m = HOST_RE.exec(value.trim());
  if (!m) return null;
  const port = m[2] ?? null;
  if (port !== null && Number(port) > 65535) return null;
  return { host: m[1]!.toLowerCase(), port };
}

export type HostVerdict = 'ok' | 'malformed' | 'not_allowed';

/**
 * `http.allowedHosts`: without `publicUrl`, the token endpoints put the caller's Host into the
 * token's `iss`/`aud` and the socket URL, so a Host the operator did not list is refused (421,
 * RFC 9110's "misdirected request"). An entry without a port matches that host on any port.
 * Unset: every well-formed Host passes. A malformed Host never does.
 */
export class HostPolicy {
  readonly #exact = new Set<string>();
  readonly #anyPort = new Set<string>();
  readonly restricted: boolean;

  constructor(allowed: readonly string[] | undefined) {
    this.restricted = allowed !== undefined;
    for (const entry of allowed ?? []) {
      const h = parseHost(entry);
      if (!h) continue;
      if (h.port === null) this.#anyPort.add(h.host);
      else this.#exact.add(`${h.host}:${h.port}`);
    }
  }

  check(value: string | undefined): HostVerdict {
    const h = parseHost(value);
    if (!h) return this.restricted || value !== undefined ? 'malformed' : 'ok';
    if (!this.restricted) return 'ok';
    if (this.#anyPort.has(h.host)) return 'ok';
    return h.port !== null && this.#exact.has(`${h.host}:${h.port}`) ? 'ok' : 'not_allowed';
  }
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) as `1.2.3.4`; other addresses as given. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** One X-Forwarded-For entry as an address: brackets and a port (some proxies add one) removed. */
function forwardedEntry(entry: string): string {
  const e = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(e);
  if (bracketed) return bracketed[1]!;
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(e);
  return plainAddress(v4port ? v4port[1]! : e).slice(0, 64);
}

/**
 * The client address the per-address limits count: the TCP peer, unless the peer is one of
 * `http.trustedProxies` (addresses or CIDR blocks); then the last X-Forwarded-For hop that is not
 * a trusted proxy (hops left of it were written by the client and prove nothing).
 */
export class ClientAddresses {
  readonly #trusted: BlockList | null;

  constructor(trustedProxies: readonly string[]) {
    if (trustedProxies.length === 0) {
      this.#trusted = null;
      return;
    }
    this.#trusted = new BlockList();
    for (const entry of trustedProxies) {
      const [addr, bits] = entry.split('/');
      const family = isIP(addr ?? '');
      if (family === 0) continue;
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.#trusted.addAddress(addr!, type);
      else this.#trusted.addSubnet(addr!, Number(bits), type);
    }
  }

  #isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.#trusted!.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** Whether `peer` (a TCP peer address) is one of the trusted proxies. */
  trusts(peer: string): boolean {
    return this.#trusted !== null && this.#isTrusted(plainAddress(peer));
  }

  resolve(peer: string, forwardedFor: string | string[] | undefined): string {
    const address = plainAddress(peer);
    if (this.#trusted === null || forwardedFor === undefined || !this.#isTrusted(address)) return address;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    let last = address;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = forwardedEntry(hops[i]!);
      if (hop === '') continue;
      if (!this.#isTrusted(hop)) return hop;
      last = hop;
    }
    // Every hop is a trusted proxy: the leftmost one is as close to the client as we can know.
    return last;
  }
}
