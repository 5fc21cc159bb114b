/**
 * The downstream role: the relay as a dialect's server, to dashboards. A listener decides each
 * upgrade and opens sessions (session.ts); its dialect's encoder turns events into frames.
 */
import type { Clock } from '../clock.ts';
import type { BridgeEvent } from '../events.ts';
import type { Subjects } from '../subjects.ts';
import type { TicketPolicy, TicketService } from '../auth/tickets.ts';
import type { PrincipalResolver } from '../auth/types.ts';
import type { HttpRequest, HttpRoute } from './http.ts';
import type { ClientDirectory, DropReason, Log, Telemetry } from './shared.ts';
import type { SessionHooks, SessionIO } from './session.ts';
import type { LinkSpec } from './upstream.ts';

/** A WebSocket upgrade request, before the upgrade. */
export type UpgradeRequest = HttpRequest;

export type UpgradeVerdict =
  | {
      accept: true;
      /** Handed to {@link ListenerRole.open}. */
      state?: unknown;
      /**
       * The socket is authenticated already (the upgrade carried the credential, or the dialect
       * has none): the core arms no auth deadline for it. Otherwise the session must call
       * {@link SessionIO.authenticated} before the listener's auth deadline, or it is closed 4103.
       */
      authenticated?: true;
    }
  | { accept: false; status: number; json?: unknown; text?: string; reason: DropReason | 'auth' | 'origin' | 'not_found' | 'limit' | 'unavailable' };

/** An upstream resource a listener can serve, as configured. */
export interface ResourceRef {
  readonly upstream: string;
  readonly protocol: string;
  readonly resource: string;
  readonly id: string;
  /**
   * The link that carries this resource (itself for a Wings server; the panel's one link for a
   * Semoxy server). Its `upstream.state` (subject id = the link's id) says whether the resource
   * can be served at all. Absent when no single link carries it.
   */
  readonly link?: LinkSpec;
}

export interface ListenerContext<C> {
  /** The listener's validated, frozen config with secrets resolved. */
  readonly config: C;
  readonly node: string;
  readonly clock: Clock;
  readonly log: Log;
  readonly subjects: Subjects;
  readonly clients: ClientDirectory;
  /**
   * Who presented a credential, from the sources the listener's `auth` list names (default: the
   * configured clients only). Listeners resolve every credential a dashboard presents through it.
   */
  readonly principals: PrincipalResolver;
  readonly telemetry: Telemetry;
  /** The resources of the upstreams this listener serves (config `upstreams`). */
  resources(): readonly ResourceRef[];
  /** The public base URL of the relay for this request (config http.publicUrl, else Host header). */
  publicUrl(req: HttpRequest): string;
  /**
   * What a token the relay verifies itself may claim about time (config `limits.clockSkewSeconds`
   * and `limits.maxTokenLifetimeSeconds`): pass it to `verifyJwt`. A listener that accepts the
   * relay's own tokens must not accept one issued in the future or living longer than this.
   */
  readonly tokenPolicy: TokenPolicy;
  /**
   * The listener's ticket store, made once at mount (a dialect whose handshake trades a key for a
   * one-time ticket). On the NATS bus a ticket minted on any node opens a socket on any node, and a
   * single-use one only once in the whole cluster; a store that cannot answer says `unavailable`.
   */
  tickets(policy: TicketPolicy): TicketService;
}

/** Bounds on a token's time claims (see {@link ListenerContext.tokenPolicy}). */
export interface TokenPolicy {
  /** How far ahead of the relay's clock `iat` may be. */
  readonly clockSkewSeconds: number;
  /** Largest `exp - iat` accepted. */
  readonly maxLifetimeSeconds: number;
}

/**
 * A dialect's server side. The core owns each session's auth deadline and keep-alive: a listener
 * whose options declare `authDeadlineMs` or `pingIntervalMs` (the dialect's own figures) gets
 * those, every other listener `limits.authDeadlineMs` / `limits.pingIntervalMs`.
 */
export interface ListenerRole {
  /** Plain HTTP routes served on the relay's port besides the WebSocket path. */
  readonly routes: readonly HttpRoute[];
  /**
   * Decides an upgrade before it happens (origin, auth, resource). Never throws. An accepted
   * socket whose credential came with the upgrade (or whose dialect has none) says
   * `authenticated: true`; any other must prove itself within the auth deadline.
   */
  authorize(req: UpgradeRequest): Promise<UpgradeVerdict> | UpgradeVerdict;
  /** Opens a session after an accepted upgrade; `state` is the verdict's. */
  open(io: SessionIO, req: UpgradeRequest, state: unknown): SessionHooks;
}

/**
 * The dialect's encoder: pure, one call per (event, variant) on the hub's hot path. null: the
 * dialect cannot express the event (the hub counts it as unmapped and hands it to no session).
 * `''`: the dialect expresses it by what its sessions do rather than by a frame (a Wings session
 * closes 4409 when its server's link fails): the hub hands it to `onEvent` with an empty frame,
 * which a session never sends.
 */
export type EventEncoder = (event: BridgeEvent, variant: string) => string | null;
