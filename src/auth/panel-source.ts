/**
 * Upstream pass-through (config `auth.panel`): a dashboard's own panel credential is checked by
 * asking the real upstream, the way the relay asks for its own link (the upstream adapter's
 * {@link PassThrough} says how; this module makes the call). A Pterodactyl client API key on a
 * Wings upstream is asked for that user's websocket token for the server, and the permissions in
 * it become the principal's, exactly; a Semoxy session is asked for a ticket.
 *
 * Answers (refusals too, but never "unavailable") are cached per (credential hash, upstream,
 * resource) for `cacheSeconds`: however many tabs a user opens, the panel sees at most one request
 * per user and server per period, and what the panel takes away is gone at the next refresh after it.
 */
import type { Clock } from '../clock.ts';
import type { HttpCall, HttpResult, LinkSpec } from '../contracts.ts';
import type { AuthConfig } from '../config/auth-schema.ts';
import type { ThrottledLog } from '../throttled-log.ts';
import { AnswerCache, credentialDigest } from './cache.ts';
import type { PassThrough, PassThroughAnswer, Resolution } from './types.ts';
import type { SourceContext } from './principals.ts';
import { rank } from './rank.ts';

type PanelConfig = NonNullable<AuthConfig['panel']>;
type Http = (call: HttpCall) => Promise<HttpResult>;

const UNAVAILABLE: PassThroughAnswer = { ok: false, reason: 'unavailable' };
const LOG_BURST = 5;

export class PanelSource {
  readonly #config: PanelConfig;
  readonly #http: Http;
  readonly #notes: ThrottledLog;
  readonly #passThrough: (upstream: string) => PassThrough | undefined;
  readonly #cache: AnswerCache<PassThroughAnswer>;

  constructor(config: PanelConfig, clock: Clock, http: Http, passThrough: (upstream: string) => PassThrough | undefined, notes: ThrottledLog) {
    this.#config = config;
    this.#http = http;
    this.#notes = notes;
    this.#passThrough = passThrough;
    this.#cache = new AnswerCache(clock, config.cacheEntries);
  }

  /**
   * Asks the upstream of the resource the credential was presented for, or (without one) each of
   * the listener's upstreams whose answer covers the whole upstream, in order. Never rejects.
   */
  async resolve(credential: string, ctx: SourceContext): Promise<Resolution> {
    let best: Resolution = { ok: false, reason: 'unknown' };
    if (credential === '') return best;
    const upstreams = ctx.resource ? [ctx.resource.upstream] : ctx.upstreams;
    for (const upstream of upstreams) {
      const pt = this.#passThrough(upstream);
      if (!pt || (pt.perResource && !ctx.resource)) continue;
      const spec: LinkSpec | null = pt.perResource && ctx.resource ? { resource: ctx.resource.resource, id: ctx.resource.id } : null;
      const digest = credentialDigest('panel', credential, upstream, spec?.id ?? '');
      const answer = await this.#cache
        .get(digest, () => this.#ask(pt, credential, spec, upstream), (a) => (a.ok || a.reason !== 'unavailable' ? this.#config.cacheSeconds * 1000 : 0))
        .catch(() => UNAVAILABLE);
      if (answer.ok) {
        const user = answer.user ?? digest.slice(0, 16);
        const principal = {
          name: `panel:${upstream}:${user}`,
          grants: Object.freeze([Object.freeze({ upstream, resources: Object.freeze(spec ? [spec.id] : [...answer.resources]), permissions: Object.freeze([...answer.permissions]) })]),
          source: 'panel' as const,
          ...(answer.expiresAt !== undefined ? { expiresAt: answer.expiresAt } : {}),
        };
        return { ok: true, principal: Object.freeze(principal) };
      }
      if (rank(answer.reason) > rank(best.reason)) best = { ok: false, reason: answer.reason };
    }
    return best;
  }

  async #ask(pt: PassThrough, credential: string, spec: LinkSpec | null, upstream: string): Promise<PassThroughAnswer> {
    let res: HttpResult;
    try {
      res = await this.#http({ ...pt.request(credential, spec), timeoutMs: this.#config.timeoutMs });
    } catch {
      this.#notes.note('warn', `auth:panel:${upstream}`, LOG_BURST, 'panel pass-through: the upstream did not answer, credential refused', { upstream });
      return UNAVAILABLE;
    }
    const answer = pt.read(res, spec);
    if (!answer.ok && answer.reason === 'unavailable') {
      this.#notes.note('warn', `auth:panel:${upstream}`, LOG_BURST, 'panel pass-through: the upstream answered unexpectedly, credential refused', { upstream, status: res.status });
    }
    return answer;
  }
}
