/**
 * The contract between a listener and the principal sources (config `auth`, listener `auth`):
 * a dashboard presents a credential where its dialect carries one, and the listener asks its
 * {@link PrincipalResolver} who that is. Whatever the source, the answer is an {@link ApiClient}
 * with grants, which the rest of the relay (sessions, gates, commands) already understands.
 *
 * Also the pure half of upstream pass-through ({@link PassThrough}): an upstream adapter says how
 * to ask the real upstream about a credential and how to read its answer; the core makes the call.
 */
import type { ApiClient, HttpCall, HttpResult, LinkSpec, SessionIO } from '../contracts.ts';

/** The sources a listener may name in its `auth` list, tried in that order. */
export const AUTH_SOURCES = ['static', 'jwt', 'hook', 'panel'] as const;
export type AuthSource = (typeof AUTH_SOURCES)[number];

/**
 * Why no source admitted a credential. `unknown`: no source recognised it (a key nobody holds,
 * a JWT with no `auth.jwt`). `unavailable`: a source that must ask someone (the hook, the panel)
 * got no usable answer in time; never an open door, always the dialect's auth error.
 */
export type AuthRefusal = 'unknown' | 'invalid' | 'expired' | 'forbidden' | 'not_found' | 'unavailable';

/** Where a credential was presented (handed to the connect hook; pass-through needs `resource`). */
export interface CredentialContext {
  /** The peer's address (for the hook; never a metric label). */
  readonly remoteAddress: string;
  /** The resource the credential is presented for (a Wings token endpoint's server), if any. */
  readonly resource?: { readonly upstream: string; readonly resource: string; readonly id: string };
}

export type Resolution = { readonly ok: true; readonly principal: ApiClient } | { readonly ok: false; readonly reason: AuthRefusal };

/** A listener's principal sources, in the order of its `auth` list (`ListenerContext.principals`). */
export interface PrincipalResolver {
  /** The sources this listener accepts, in order. */
  readonly sources: readonly AuthSource[];
  /**
   * Who presented `credential`: the first source (in the listener's order) that admits it wins;
   * when none does, the most telling refusal (`unavailable` over `expired`/`forbidden`/`not_found`
   * over `invalid` over `unknown`). Never rejects; never logs the credential.
   */
  resolve(credential: string, context: CredentialContext): Promise<Resolution>;
  /**
   * Ends `io` when `principal`'s credential expires (`ApiClient.expiresAt`): `onExpired` when
   * given (the dialect's own way), else a close with 4116 `BRIDGE_ERR_CREDENTIAL_EXPIRED`.
   * With `recheck` (the credential the session presented, and where), a principal of a source that
   * asks someone (the hook, the panel) is asked about again once per that source's cache period:
   * a refusal, or grants that changed, end the session the same way (an answer that does not come
   * keeps it). Returns the cancel to call from the session's `onClose`; a no-op when nothing is due.
   */
  expireWith(io: SessionIO, principal: ApiClient, onExpired?: () => void, recheck?: { readonly credential: string; readonly context: CredentialContext }): () => void;
}

/** What an upstream made of a credential it was asked about (see {@link PassThrough}). */
export type PassThroughAnswer =
  | {
      readonly ok: true;
      /** A stable, non-secret name for the user (a panel user uuid), if the upstream says one. */
      readonly user?: string;
      /** Resource ids the answer covers (`*`: every resource of the upstream). */
      readonly resources: readonly string[];
      /** Exactly the permissions the upstream gives this user there. */
      readonly permissions: readonly string[];
      /** When the upstream's own grant ends (ms since the epoch), if it says. */
      readonly expiresAt?: number;
    }
  | { readonly ok: false; readonly reason: 'invalid' | 'forbidden' | 'not_found' | 'unavailable' };

/**
 * Upstream pass-through (config `auth.panel`): a dashboard's own upstream credential (a panel
 * client API key, a Semoxy session) is checked by asking the real upstream, with the same call the
 * relay makes for its own link. Pure: the core makes the call, caches and counts the answer.
 */
export interface PassThrough {
  /** True when the answer is per resource (Wings: per server); false when it covers the upstream (Semoxy). */
  readonly perResource: boolean;
  /** The call that asks the upstream about `credential` (for `resource` when {@link perResource}). */
  request(credential: string, resource: LinkSpec | null): HttpCall;
  /** Reads the answer. Never throws. */
  read(result: HttpResult, resource: LinkSpec | null): PassThroughAnswer;
}
