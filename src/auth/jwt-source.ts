/**
 * App-issued JWTs (config `auth.jwt`): the application that already logs its users in signs a
 * token naming the client and its grants; the relay verifies it with an HS256 secret, RS256 /
 * ES256 / EdDSA public keys, or a JWKS URL (jose's remote key set: cached, fetched again for a
 * `kid` it does not hold, so a key rotation needs no restart, with a timeout and a cooldown).
 *
 * `exp` is required and becomes the principal's `expiresAt`; `iss`/`aud` are checked when
 * configured; the relay's own bounds on time claims (`limits.clockSkewSeconds`,
 * `limits.maxTokenLifetimeSeconds`) apply as to its own tokens. Time is the injected clock's.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, importSPKI, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../clock.ts';
import type { TokenPolicy } from '../contracts.ts';
import type { AuthConfig } from '../config/auth-schema.ts';
import { readGrants } from './grants.ts';
import type { Resolution } from './types.ts';

type JwtConfig = NonNullable<AuthConfig['jwt']>;
type KeyLike = Awaited<ReturnType<typeof importSPKI>>;

const ASYMMETRIC = new Set(['RS256', 'ES256', 'EdDSA']);
/** A client name from a token: printable, bounded (it ends up in a Wings token's `user_uuid`). */
const CLIENT_NAME = /^[\x21-\x7e]{1,128}$/;

const refused = (reason: 'invalid' | 'expired' | 'unavailable'): Resolution => ({ ok: false, reason });
const UNKNOWN: Resolution = { ok: false, reason: 'unknown' };

/** Three base64url segments: anything else is not a JWT (another source's credential). */
function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential);
}

export class JwtSource {
  readonly #config: JwtConfig;
  readonly #clock: Clock;
  readonly #policy: TokenPolicy;
  readonly #secret: Uint8Array | null;
  readonly #keys: Promise<{ alg: string; kid?: string; key: KeyLike }[]>;
  readonly #jwks: JWTVerifyGetKey | null;

  /** `policy` is read per token (a reload changes it in place). */
  constructor(config: JwtConfig, clock: Clock, policy: TokenPolicy) {
    this.#config = config;
    this.#clock = clock;
    this.#policy = policy;
    this.#secret = config.secret ? new TextEncoder().encode(config.secret) : null;
    this.#keys = Promise.all((config.publicKeys ?? []).map(async (k) => ({ alg: k.alg, ...(k.kid ? { kid: k.kid } : {}), key: await importSPKI(k.key, k.alg) })));
    // A key that cannot be imported is a config problem: refuse its tokens rather than crash.
    this.#keys.catch(() => {});
    this.#jwks = config.jwksUrl
      ? createRemoteJWKSet(new URL(config.jwksUrl), {
          timeoutDuration: config.jwksTimeoutMs,
          cooldownDuration: config.jwksCooldownMs,
          cacheMaxAge: config.jwksCacheMaxAgeMs,
        })
      : null;
  }

  /** Never rejects. A credential that is not a JWT is `unknown` (another source may know it). */
  async resolve(credential: string): Promise<Resolution> {
    if (!looksLikeJwt(credential)) return UNKNOWN;
    let alg: string | undefined;
    let kid: string | undefined;
    try {
      ({ alg, kid } = decodeProtectedHeader(credential));
    } catch {
      return UNKNOWN;
    }
    let payload: JWTPayload;
    try {
      const key = await this.#keyFor(alg, kid);
      if (key === null) return refused('invalid');
      const options = {
        algorithms: [alg!],
        currentDate: new Date(this.#clock.now()),
        requiredClaims: ['exp'],
        ...(this.#config.issuer ? { issuer: this.#config.issuer } : {}),
        ...(this.#config.audience ? { audience: this.#config.audience } : {}),
      };
      ({ payload } = typeof key === 'function' ? await jwtVerify(credential, key, options) : await jwtVerify(credential, key, options));
    } catch (err) {
      return refused(failure(err));
    }
    return this.#principal(payload);
  }

  async #keyFor(alg: string | undefined, kid: string | undefined): Promise<Uint8Array | KeyLike | JWTVerifyGetKey | null> {
    if (alg === 'HS256') return this.#secret;
    if (alg === undefined || !ASYMMETRIC.has(alg)) return null;
    const keys = await this.#keys.catch(() => []);
    const own = keys.find((k) => k.alg === alg && (k.kid === undefined || k.kid === kid));
    return own?.key ?? this.#jwks;
  }

  #principal(payload: JWTPayload): Resolution {
    const name = payload[this.#config.clientClaim];
    const grants = readGrants(payload[this.#config.grantsClaim]);
    if (typeof name !== 'string' || !CLIENT_NAME.test(name) || grants === null || typeof payload.exp !== 'number') return refused('invalid');
    const now = Math.floor(this.#clock.now() / 1000);
    const { iat, exp } = payload;
    if (typeof iat === 'number' && iat > now + this.#policy.clockSkewSeconds) return refused('invalid');
    if (exp - (typeof iat === 'number' ? iat : now) > this.#policy.maxLifetimeSeconds) return refused('invalid');
    return { ok: true, principal: Object.freeze({ name: `jwt:${name}`, grants, source: 'jwt' as const, expiresAt: exp * 1000 }) };
  }
}

/** What a verification failure means to the dashboard: a key set that could not be read is no verdict on the token. */
function failure(err: unknown): 'invalid' | 'expired' | 'unavailable' {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return 'unavailable';
  if (err instanceof joseErrors.JOSEError) return 'invalid';
  // A fetch of the key set that failed outright (connection refused, DNS).
  return 'unavailable';
}
