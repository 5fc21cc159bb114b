/**
 * The `auth` section: the principal sources besides the configured `clients` (src/auth/). A
 * listener names the ones it accepts, in order, in its own `auth` list (default `["static"]`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { AUTH_SOURCES } from '../auth/types.ts';
import { Secret } from './schema-secret.ts';

export const JwtAuthSection = Type.Object(
  {
    secret: Type.Optional({ ...Secret, description: 'HS256: the shared secret the application signs its tokens with.' }),
    publicKeys: Type.Optional(
      Type.Array(
        Type.Object(
          {
            alg: Type.Union([Type.Literal('RS256'), Type.Literal('ES256'), Type.Literal('EdDSA')], { description: 'The algorithm this key verifies.' }),
            key: { ...Secret, description: 'The public key, PEM (SPKI, `-----BEGIN PUBLIC KEY-----`).' },
            kid: Type.Optional(Type.String({ minLength: 1, description: 'Only tokens whose header names this `kid` (default: any token of `alg`).' })),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, description: 'RS256 / ES256 / EdDSA public keys.' },
      ),
    ),
    jwksUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'A JSON Web Key Set URL; fetched when first needed, cached, and fetched again for a `kid` it does not hold (key rotation).' })),
    jwksTimeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'Timeout of one JWKS fetch; a token that needs a fetch that times out is refused (the dialect\'s auth error).' }),
    jwksCooldownMs: Type.Integer({ minimum: 0, default: 30000, description: 'Least time between two JWKS fetches (a burst of unknown `kid`s costs one fetch).' }),
    jwksCacheMaxAgeMs: Type.Integer({ minimum: 1000, default: 600000, description: 'How long a fetched key set is used before it is fetched again.' }),
    issuer: Type.Optional(Type.String({ minLength: 1, description: 'Required `iss` (checked when set).' })),
    audience: Type.Optional(Type.String({ minLength: 1, description: 'Required `aud` (checked when set).' })),
    clientClaim: Type.String({ minLength: 1, default: 'sub', description: 'The claim that names the client (the principal is `jwt:<name>`).' }),
    grantsClaim: Type.String({ minLength: 1, default: 'grants', description: 'The claim holding its grants: `[{"upstream","resources":[…],"permissions":[…]}]`, every field explicit.' }),
  },
  { additionalProperties: false, description: 'App-issued JWTs: one of `secret`, `publicKeys`, `jwksUrl` (or several). `exp` is required; the session ends (or is re-challenged) at `exp` in the dialect\'s own way.' },
);

export const HookAuthSection = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', description: 'The operator\'s endpoint: POST `{"credential","context":{listener,dialect,upstream,resource,remoteAddress}}` → 200 `{"name","grants","ttlSeconds"}`, or 401/403 (optionally `{"ttlSeconds"}`) to refuse.' }),
    secret: Type.Optional({ ...Secret, description: 'Sent as `Authorization: Bearer <secret>`, so the hook knows the call is the relay\'s.' }),
    timeoutMs: Type.Integer({ minimum: 50, default: 2000, description: 'A hook slower than this (or down, or answering anything else) refuses the credential, counted (`result="unavailable"`) and logged.' }),
    maxCacheSeconds: Type.Integer({ minimum: 0, default: 300, description: 'Cap on the `ttlSeconds` an answer is cached for, by the SHA-256 of the credential; also how often an open session on a hook principal is checked again.' }),
    cacheEntries: Type.Integer({ minimum: 1, default: 10000, description: 'Cached answers kept at most (oldest dropped first).' }),
  },
  { additionalProperties: false, description: 'A connect hook: the operator\'s HTTP endpoint decides who a credential is.' },
);

export const PanelAuthSection = Type.Object(
  {
    cacheSeconds: Type.Integer({ minimum: 0, default: 30, description: 'How long the upstream\'s answer is kept per (credential hash, upstream, server): the panel sees at most one request per user and server per period, and a permission it takes away is gone at the next refresh after it (open sessions are checked again once per period).' }),
    cacheEntries: Type.Integer({ minimum: 1, default: 10000, description: 'Cached answers kept at most (oldest dropped first).' }),
    timeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'Timeout of the request to the upstream; past it the credential is refused (`result="unavailable"`).' }),
  },
  { additionalProperties: false, description: 'Upstream pass-through: a dashboard\'s own panel credential (a Pterodactyl client API key on a Wings upstream, a Semoxy session on a panel upstream) is checked by asking the real panel.' },
);

export const AuthSection = Type.Object(
  {
    jwt: Type.Optional(JwtAuthSection),
    hook: Type.Optional(HookAuthSection),
    panel: Type.Optional(PanelAuthSection),
  },
  { additionalProperties: false, default: {}, description: 'Principal sources besides `clients`; a listener accepts those its `auth` list names.' },
);

/** A listener's `auth`: the sources it accepts, in order. */
export const ListenerAuth = Type.Array(Type.Union(AUTH_SOURCES.map((s) => Type.Literal(s))), {
  minItems: 1,
  uniqueItems: true,
  default: ['static'],
  description: 'Principal sources this listener accepts, tried in order: `static` (the `clients` keys), `jwt`, `hook`, `panel` (each but `static` needs its `auth` section).',
});

/** The `auth` section with its secrets resolved. */
export interface AuthConfig {
  readonly jwt?: Omit<Static<typeof JwtAuthSection>, 'secret' | 'publicKeys'> & {
    readonly secret?: string;
    readonly publicKeys?: readonly { readonly alg: 'RS256' | 'ES256' | 'EdDSA'; readonly key: string; readonly kid?: string }[];
  };
  readonly hook?: Omit<Static<typeof HookAuthSection>, 'secret'> & { readonly secret?: string };
  readonly panel?: Static<typeof PanelAuthSection>;
}
