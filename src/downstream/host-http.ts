/**
 * The HTTP plumbing of a {@link WebHost}: path patterns with `:param` segments, the `HttpRequest`
 * view of a Node request, and answers written as a body or on a raw upgrade socket.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpRequest, HttpResponse } from '../contracts.ts';

export interface Compiled<T> {
  re: RegExp;
  names: string[];
  value: T;
}

export function compile<T>(pattern: string, value: T): Compiled<T> {
  const names: string[] = [];
  const source = pattern
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { re: new RegExp(`^${source}/?$`), names, value };
}

export function match<T>(table: Compiled<T>[], path: string): { value: T; params: Record<string, string> } | null {
  for (const entry of table) {
    const m = entry.re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    entry.names.forEach((name, i) => {
      try {
        params[name] = decodeURIComponent(m[i + 1] ?? '');
      } catch {
        params[name] = m[i + 1] ?? '';
      }
    });
    return { value: entry.value, params };
  }
  return null;
}

export function toRequest(req: IncomingMessage, params: Record<string, string>, url: URL, address: () => string, proxied: () => boolean): HttpRequest {
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    params,
    query: url.searchParams,
    headers: req.headers as Record<string, string | undefined>,
    // Lazy: reading it makes Node keep the peer address on the socket for the socket's lifetime.
    get remoteAddress() {
      return address();
    },
    get forwardedProto() {
      if (!proxied()) return undefined;
      const proto = req.headers['x-forwarded-proto'];
      const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
      return first === 'https' || first === 'http' ? first : undefined;
    },
  };
}

/** Whole seconds for a Retry-After header (at least 1). */
export function seconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

export function body(res: HttpResponse): { contentType: string; payload: string } {
  if (res.json !== undefined) return { contentType: 'application/json', payload: JSON.stringify(res.json) };
  return { contentType: 'text/plain; charset=utf-8', payload: res.text ?? '' };
}

/** Writes an HTTP response on a raw upgrade socket and closes it. */
export function refuseUpgrade(socket: Duplex, res: HttpResponse): void {
  const { contentType, payload } = body(res);
  const extra = Object.entries(res.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ''}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${Buffer.byteLength(payload)}\r\n${extra}Connection: close\r\n\r\n${payload}`,
  );
}
