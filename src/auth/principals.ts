/**
 * Principals from every source behind one interface. The relay builds one {@link Principals} from
 * the config; each listener gets a {@link PrincipalResolver} over the sources its `auth` list
 * names, in that order: `static` (the configured `clients` keys, compared in constant time),
 * `jwt` (app-issued tokens), `hook` (the operator's connect hook) and `panel` (pass-through to the
 * real upstream). Whatever admits a credential, the result is an ApiClient with grants, which the
 * rest of the relay already understands.
 *
 * Every answer is counted in `bridge_auth_source_results_total{source,result}`. No credential is
 * logged or put in a label; the caches keep SHA-256 digests only.
 */
import type { Clock } from '../clock.ts';
import type { Grant, HttpCall, HttpResult, TokenPolicy } from '../contracts.ts';
import type { AuthConfig } from '../config/auth-schema.ts';
import type { ListenerConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics.ts';
import type { ThrottledLog } from '../throttled-log.ts';
import type { ClientRegistry } from './clients.ts';
import { expireWith, recheckEvery } from './expiry.ts';
import { HookSource } from './hook-source.ts';
import { JwtSource } from './jwt-source.ts';
import { PanelSource } from './panel-source.ts';
import { rank } from './rank.ts';
import type { AuthSource, CredentialContext, PassThrough, PrincipalResolver, Resolution } from './types.ts';

/** What a source knows of where a credential was presented. */
export interface SourceContext extends CredentialContext {
  readonly listener: string;
  readonly dialect: string;
  /** The listener's upstreams, in config order. */
  readonly upstreams: readonly string[];
}

interface Source {
  resolve(credential: string, ctx: SourceContext): Promise<Resolution>;
}

export interface PrincipalsOptions {
  readonly auth: AuthConfig;
  readonly clients: ClientRegistry;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly notes: ThrottledLog;
  /** Read per token (a reload changes it in place). */
  readonly tokenPolicy: TokenPolicy;
  /** The relay's HTTP client (undici). */
  readonly http: (call: HttpCall) => Promise<HttpResult>;
  /** The pass-through of an upstream's role, if it has one. */
  readonly passThrough: (upstream: string) => PassThrough | undefined;
}

const UNKNOWN: Resolution = { ok: false, reason: 'unknown' };
/**
 * Open sessions are re-checked once per cache period, but never more often than this: with no
 * cache (`cacheSeconds: 0`) every re-check reaches the hook or panel, once per open session.
 */
const MIN_RECHECK_SECONDS = 30;

/** The configured clients as a source: the key in force (a reload swaps them), compared in constant time. */
class StaticSource implements Source {
  readonly #clients: ClientRegistry;
  constructor(clients: ClientRegistry) {
    this.#clients = clients;
  }
  resolve(credential: string): Promise<Resolution> {
    const client = credential === '' ? null : this.#clients.authenticate(credential);
    return Promise.resolve(client ? { ok: true, principal: client } : UNKNOWN);
  }
}

/** Whether two grant lists say the same (a re-check that finds other grants ends the session). */
function sameGrants(a: readonly Grant[], b: readonly Grant[]): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Every source the config sets up, shared by the listeners (one cache per source per node). */
export class Principals {
  readonly #o: PrincipalsOptions;
  readonly #sources: ReadonlyMap<AuthSource, Source>;

  constructor(o: PrincipalsOptions) {
    this.#o = o;
    const sources = new Map<AuthSource, Source>([['static', new StaticSource(o.clients)]]);
    if (o.auth.jwt) sources.set('jwt', new JwtSource(o.auth.jwt, o.clock, o.tokenPolicy));
    if (o.auth.hook) sources.set('hook', new HookSource(o.auth.hook, o.clock, o.http, o.notes));
    if (o.auth.panel) sources.set('panel', new PanelSource(o.auth.panel, o.clock, o.http, o.passThrough, o.notes));
    this.#sources = sources;
  }

  /** The resolver of one listener: its `auth` list, in order (a source without its section is skipped; config checks forbid it). */
  forListener(listener: Pick<ListenerConfig, 'name' | 'dialect' | 'upstreams' | 'auth'>): PrincipalResolver {
    const names = (listener.auth ?? ['static']).filter((s) => this.#sources.has(s));
    const chain = names.map((name) => ({ name, source: this.#sources.get(name)! }));
    const { metrics, clock, auth } = this.#o;
    const recheckMs = (source: 'hook' | 'panel') => 1000 * Math.max(MIN_RECHECK_SECONDS, source === 'hook' ? (auth.hook?.maxCacheSeconds ?? 0) : (auth.panel?.cacheSeconds ?? 0));
    const base = { listener: listener.name, dialect: listener.dialect, upstreams: listener.upstreams };
    const resolve = async (credential: string, context: CredentialContext): Promise<Resolution> => {
      const ctx: SourceContext = { ...base, ...context };
      let best: Resolution = UNKNOWN;
      for (const { name, source } of chain) {
        const answer = await source.resolve(credential, ctx).catch((): Resolution => ({ ok: false, reason: 'unavailable' }));
        metrics.authSourceResults.inc({ source: name, result: answer.ok ? 'ok' : answer.reason });
        if (answer.ok) return answer;
        if (rank(answer.reason) > rank(best.ok ? 'unknown' : best.reason)) best = answer;
      }
      return best;
    };
    return {
      sources: names,
      resolve,
      expireWith(io, principal, onExpired, recheck): () => void {
        const expired = () => metrics.authSourceResults.inc({ source: principal.source ?? 'static', result: 'session_expired' });
        const cancelExpiry = expireWith(clock, io, principal, onExpired, expired);
        const period = principal.source === undefined || principal.source === 'jwt' ? 0 : recheckMs(principal.source);
        if (!recheck || period === 0) return cancelExpiry;
        const stillGood = async (): Promise<boolean> => {
          const answer = await resolve(recheck.credential, recheck.context);
          // A hook or panel that does not answer now is no verdict on a session already open.
          if (!answer.ok) return answer.reason === 'unavailable';
          return answer.principal.name === principal.name && sameGrants(answer.principal.grants, principal.grants);
        };
        const cancelRecheck = recheckEvery(clock, io, period, stillGood, () => {
          expired();
          if (onExpired) onExpired();
          else io.close('BRIDGE_ERR_CREDENTIAL_EXPIRED');
        });
        return () => {
          cancelExpiry();
          cancelRecheck();
        };
      },
    };
  }
}
