/**
 * The connect hook (config `auth.hook`): the relay POSTs the presented credential and where it was
 * presented to the operator's endpoint (undici, through the relay's HTTP client) and gets back a
 * principal `{name, grants, ttlSeconds}` or a refusal (401/403). Answers are cached by the SHA-256
 * of the credential for their `ttlSeconds` (capped by `maxCacheSeconds`). A hook that is slow, down,
 * or answers anything else refuses the credential (`unavailable`: never an open door), and says so
 * in the log without the credential.
 */
import type { Clock } from '../clock.ts';
import type { HttpCall, HttpResult } from '../contracts.ts';
import type { AuthConfig } from '../config/auth-schema.ts';
import type { ThrottledLog } from '../throttled-log.ts';
import { AnswerCache, credentialDigest } from './cache.ts';
import { readGrants } from './grants.ts';
import type { Resolution } from './types.ts';
import type { SourceContext } from './principals.ts';

type HookConfig = NonNullable<AuthConfig['hook']>;
type Http = (call: HttpCall) => Promise<HttpResult>;

interface Answer {
  readonly resolution: Resolution;
  readonly ttlMs: number;
}

const NAME = /^[\x21-\x7e]{1,128}$/;
const UNAVAILABLE: Answer = { resolution: { ok: false, reason: 'unavailable' }, ttlMs: 0 };
const LOG_BURST = 5;

function seconds(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}

export class HookSource {
  readonly #config: HookConfig;
  readonly #http: Http;
  readonly #notes: ThrottledLog;
  readonly #cache: AnswerCache<Answer>;

  constructor(config: HookConfig, clock: Clock, http: Http, notes: ThrottledLog) {
    this.#config = config;
    this.#http = http;
    this.#notes = notes;
    this.#cache = new AnswerCache(clock, config.cacheEntries);
  }

  /** Never rejects. */
  async resolve(credential: string, ctx: SourceContext): Promise<Resolution> {
    if (credential === '') return { ok: false, reason: 'unknown' };
    const answer = await this.#cache.get(credentialDigest('hook', credential), () => this.#ask(credential, ctx), (a) => a.ttlMs).catch(() => UNAVAILABLE);
    return answer.resolution;
  }

  async #ask(credential: string, ctx: SourceContext): Promise<Answer> {
    const body = JSON.stringify({
      credential,
      context: {
        listener: ctx.listener,
        dialect: ctx.dialect,
        ...(ctx.resource ? { upstream: ctx.resource.upstream, resource: ctx.resource.id } : {}),
        remoteAddress: ctx.remoteAddress,
      },
    });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#config.secret) headers.authorization = `Bearer ${this.#config.secret}`;
    let res: HttpResult;
    try {
      res = await this.#http({ method: 'POST', url: this.#config.url, headers, body, timeoutMs: this.#config.timeoutMs });
    } catch (err) {
      const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError' || /timeout/i.test(err.name));
      return this.#unavailable(timeout ? 'timeout' : 'unreachable');
    }
    const maxMs = this.#config.maxCacheSeconds * 1000;
    const json = res.json as Record<string, unknown> | undefined;
    if (res.status === 401 || res.status === 403) {
      const ttl = seconds(json?.ttlSeconds) ?? 0;
      return { resolution: { ok: false, reason: 'invalid' }, ttlMs: Math.min(ttl * 1000, maxMs) };
    }
    if (res.status !== 200) return this.#unavailable(`http_${res.status}`);
    const name = json?.name;
    const grants = readGrants(json?.grants);
    const ttl = seconds(json?.ttlSeconds);
    if (typeof name !== 'string' || !NAME.test(name) || grants === null || ttl === null) return this.#unavailable('bad_answer');
    return {
      resolution: { ok: true, principal: Object.freeze({ name: `hook:${name}`, grants, source: 'hook' as const }) },
      ttlMs: Math.min(ttl * 1000, maxMs),
    };
  }

  #unavailable(why: string): Answer {
    this.#notes.note('warn', `auth:hook:${why}`, LOG_BURST, 'auth hook unavailable: credential refused', { why });
    return UNAVAILABLE;
  }
}
