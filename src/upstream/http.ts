/**
 * HTTP calls to upstreams (token and ticket endpoints) through undici, with a timeout, a size
 * cap on the body, and JSON parsed when the body is JSON. Only network errors and timeouts reject.
 */
import { request } from 'undici';
import type { HttpCall, HttpResult } from '../contracts.ts';

const MAX_BODY = 1 << 20;

export function createHttpClient(defaultTimeoutMs: number): (call: HttpCall) => Promise<HttpResult> {
  return async (call) => {
    const timeout = call.timeoutMs ?? defaultTimeoutMs;
    const res = await request(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        res.body.destroy();
        throw new Error(`response body over ${MAX_BODY} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    let json: unknown;
    if (text.length > 0 && /json/i.test(headers['content-type'] ?? '')) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: res.statusCode, headers, json, text };
  };
}
