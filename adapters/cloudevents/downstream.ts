/**
 * CloudEvents, downstream role: the relay's own dialect for new clients.
 *
 * `GET <path>` (default /cloudevents) with `Authorization: Bearer <API key>` → upgrade; a wrong
 * key is HTTP 401 before any WebSocket exists (keys never travel in query strings). Browsers cannot
 * set headers on a WebSocket, so an upgrade without the header is accepted unauthenticated and
 * the key comes in a frame, `{"op":"auth","key":"…"}`, answered `{"op":"authenticated"}` or an
 * UNAUTHORIZED error; until then every other frame is refused, and the core closes a socket still
 * unauthenticated at the auth deadline (4103) or after too many wrong keys (4115).
 * The client then subscribes to subjects in bus form (subject.ts), each checked against its grants
 * (access.ts), and receives every matching event as the BridgeEvent JSON: the one encoding every
 * CloudEvents session shares, whatever protocol the event came from.
 *
 * Keep-alive (the core's): a WebSocket ping every `pingIntervalMs`; a client that has not answered
 * the previous ping by the next one is terminated and counted as a heartbeat timeout.
 */
import {
  bearerKey,
  eventUpstream,
  mayReceive,
  type ApiClient,
  type BridgeEvent,
  type ListenerConfigOf,
  type ListenerContext,
  type ListenerRole,
  type SessionHooks,
  type SessionIO,
  type UpgradeRequest,
  type UpgradeVerdict,
} from '../../src/adapter-kit.ts';
import type { CloudEventsListenerOptions } from './index.ts';
import { authorizeSubject } from './access.ts';
import { decodeClient, encodeServerMessage, errorFrame } from './codec.ts';
import { parseSubject } from './subject.ts';
import { CLIENT_OPS, REPLY_ERRORS, SERVER_OPS, SUBJECT_LIMITS } from './vocabulary.ts';

/** The listener's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type CloudEventsListenerConfig = ListenerConfigOf<typeof CloudEventsListenerOptions>;

type Ctx = ListenerContext<CloudEventsListenerConfig>;

/**
 * Two overlapping subscriptions (`up.server.X.>` and `up.*.X.console`) are two bus patterns, and
 * the hub delivers an event once per pattern; ids of this many recent deliveries are remembered
 * so the client gets each event once.
 */
const RECENT_IDS = 256;

const BAD_MESSAGE = 'expected {"op":"subscribe"|"unsubscribe","subject":"<upstream>.<resource>.<id>.<event…>"} or {"op":"auth","key":"<client key>"}';
const AUTH_FIRST = 'authenticate first: {"op":"auth","key":"<client key>"}, or Authorization: Bearer on the upgrade';

class CloudEventsSession implements SessionHooks {
  /** One encoding for every session: the hub encodes each event once for the whole dialect. */
  readonly variant = '';
  readonly #io: SessionIO;
  readonly #ctx: Ctx;
  /** Null until the socket authenticated (with the upgrade's header, or an `auth` frame). */
  #client: ApiClient | null;
  /** Client subject → its bus patterns (several when an upstream wildcard was expanded). */
  readonly #subs = new Map<string, readonly string[]>();
  /**
   * Bus pattern → how many client subjects use it, and its remover. Two client subjects can expand
   * to one pattern (`*.server.X.>` and `up.server.X.>`), and SessionIO.subscribe hands out one
   * remover per pattern, so dropping one subject must not cut the other off.
   */
  readonly #patterns = new Map<string, { users: number; remove: () => void }>();
  readonly #recent = new Set<string>();
  /** Permissions per `upstream \0 id`, for the receive gates; emptied when a reload replaced the clients. */
  readonly #perms = new Map<string, readonly string[] | null>();
  #permsGeneration: number;
  /** Cancels the close at the credential's expiry (an app JWT's `exp`). */
  #unwatch: () => void = () => {};

  constructor(io: SessionIO, ctx: Ctx, client: ApiClient | null, credential = '') {
    this.#io = io;
    this.#ctx = ctx;
    this.#client = client;
    this.#permsGeneration = ctx.clients.generation;
    // A reload that removes the client, or a grant its subscriptions use, closes the session (core).
    if (client !== null) {
      io.bindPrincipal(client.name);
      this.#unwatch = ctx.principals.expireWith(io, client, undefined, { credential, context: { remoteAddress: io.remoteAddress } });
    }
  }

  onMessage(text: string): void | Promise<void> {
    const message = decodeClient(text);
    if (message === null) {
      this.#ctx.telemetry.dropped('bad_frame');
      return this.#io.send(errorFrame(REPLY_ERRORS.badFrame, BAD_MESSAGE));
    }
    if (message.op === CLIENT_OPS.auth) return this.#auth(message.key);
    const client = this.#client;
    if (client === null) {
      this.#ctx.telemetry.dropped('unauthorized');
      return this.#io.send(errorFrame(REPLY_ERRORS.unauthorized, AUTH_FIRST, echo(message.subject)));
    }
    if (message.op === CLIENT_OPS.subscribe) this.#subscribe(client, message.subject);
    else this.#unsubscribe(message.subject);
  }

  /**
   * The credential of an `auth` frame (a key, or what another source of the listener admits).
   * Never logged, never echoed; a wrong one counts against the socket and the address. Returned as
   * a promise, so the core holds the next frame until it is decided.
   */
  async #auth(key: string): Promise<void> {
    if (this.#client !== null) {
      this.#ctx.telemetry.dropped('bad_frame');
      return this.#io.send(errorFrame(REPLY_ERRORS.badFrame, 'already authenticated'));
    }
    const resolved = await this.#ctx.principals.resolve(key, { remoteAddress: this.#io.remoteAddress });
    if (this.#io.closed) return;
    if (!resolved.ok) {
      this.#io.send(errorFrame(REPLY_ERRORS.unauthorized, resolved.reason === 'unavailable' ? 'the credential could not be checked now' : 'the key is not known'));
      return this.#io.authFailed(resolved.reason === 'unknown' ? 'auth' : resolved.reason);
    }
    const client = resolved.principal;
    // A key is checked against the clients in force, so this binds (false only if closed meanwhile).
    if (!this.#io.bindPrincipal(client.name)) return;
    this.#client = client;
    this.#unwatch = this.#ctx.principals.expireWith(this.#io, client, undefined, { credential: key, context: { remoteAddress: this.#io.remoteAddress } });
    this.#io.authenticated();
    this.#io.send(encodeServerMessage({ op: SERVER_OPS.authenticated }));
  }

  #subscribe(client: ApiClient, subject: string): void {
    const check = parseSubject(subject);
    if (!check.ok) return this.#badSubject(subject, check.reason);
    // Subscribing twice is answered like the first time and costs nothing.
    if (this.#subs.has(subject)) return this.#ack(SERVER_OPS.subscribed, subject);
    const { config, clients, subjects, telemetry } = this.#ctx;
    if (this.#subs.size >= config.maxSubscriptions) {
      telemetry.dropped('throttled');
      return this.#io.send(errorFrame(REPLY_ERRORS.tooMany, `subscription limit reached (${config.maxSubscriptions})`, subject));
    }
    const access = authorizeSubject(check.parsed, client, clients, config.upstreams, subjects.prefix);
    if (!access.ok) {
      if (access.code === REPLY_ERRORS.forbidden) telemetry.authFailed('forbidden_subject');
      return this.#io.send(errorFrame(access.code, access.message, subject));
    }
    this.#subs.set(subject, access.patterns);
    for (const pattern of access.patterns) this.#hold(pattern);
    this.#ack(SERVER_OPS.subscribed, subject);
  }

  /** Unsubscribing from a subject the session does not hold is answered the same: afterwards it is not subscribed. */
  #unsubscribe(subject: string): void {
    const check = parseSubject(subject);
    if (!check.ok) return this.#badSubject(subject, check.reason);
    const patterns = this.#subs.get(subject);
    if (patterns) {
      this.#subs.delete(subject);
      for (const pattern of patterns) this.#release(pattern);
    }
    this.#ack(SERVER_OPS.unsubscribed, subject);
  }

  #hold(pattern: string): void {
    const held = this.#patterns.get(pattern);
    if (held) held.users += 1;
    else this.#patterns.set(pattern, { users: 1, remove: this.#io.subscribe(pattern) });
  }

  #release(pattern: string): void {
    const held = this.#patterns.get(pattern);
    if (!held || --held.users > 0) return;
    this.#patterns.delete(pattern);
    held.remove();
  }

  #badSubject(subject: string, reason: string): void {
    this.#ctx.telemetry.dropped('bad_frame');
    this.#io.send(errorFrame(REPLY_ERRORS.badFrame, `invalid subject: ${reason}`, echo(subject)));
  }

  #ack(op: typeof SERVER_OPS.subscribed | typeof SERVER_OPS.unsubscribed, subject: string): void {
    this.#io.send(encodeServerMessage({ op, subject }));
  }

  onEvent(event: BridgeEvent, frame: Buffer): void {
    if (this.#patterns.size > 1 && this.#seen(event.id)) return;
    if (!mayReceive(this.#permissions(event) ?? [], event.type)) {
      this.#ctx.telemetry.dropped('unauthorized');
      return;
    }
    this.#io.send(frame);
  }

  /** True when the event was already delivered through another of this session's patterns. */
  #seen(id: string): boolean {
    if (this.#recent.has(id)) return true;
    this.#recent.add(id);
    if (this.#recent.size > RECENT_IDS) this.#recent.delete(this.#recent.values().next().value as string);
    return false;
  }

  #permissions(event: BridgeEvent): readonly string[] | null {
    const upstream = eventUpstream(event);
    const key = `${upstream}\u0000${event.subject}`;
    const generation = this.#ctx.clients.generation;
    if (generation !== this.#permsGeneration) {
      this.#perms.clear();
      this.#permsGeneration = generation;
    }
    let perms = this.#perms.get(key);
    if (perms === undefined) {
      // Events arrive only on subscriptions, which only an authenticated session holds.
      perms = this.#client === null ? null : this.#ctx.clients.permissionsFor(this.#client, upstream, event.subject);
      // Bounded like the dedupe window: a `>` subscriber may see many ids.
      if (this.#perms.size >= RECENT_IDS) this.#perms.clear();
      this.#perms.set(key, perms);
    }
    return perms;
  }

  onClose(): void {
    this.#unwatch();
    // The core has already removed every bus subscription of a closed session.
    this.#subs.clear();
    this.#patterns.clear();
    this.#recent.clear();
  }
}

/** An oversized subject is not echoed back: the client has it, and it would only fill the queue. */
function echo(subject: string): string | undefined {
  return subject.length <= SUBJECT_LIMITS.maxLength ? subject : undefined;
}

/** Creates the listener role: Bearer key at the upgrade (or in the first frame), then one session per socket. */
export function createCloudEventsListener(ctx: Ctx): ListenerRole {
  return {
    routes: [],
    async authorize(req: UpgradeRequest): Promise<UpgradeVerdict> {
      // No header at all: a browser; the key comes in a frame, under the core's auth deadline.
      if (req.headers.authorization === undefined) return { accept: true, state: null };
      const key = bearerKey(req.headers.authorization);
      const resolved = key === null ? null : await ctx.principals.resolve(key, { remoteAddress: req.remoteAddress });
      const client = resolved?.ok ? resolved.principal : null;
      // The core counts refusals with reason `auth` in bridge_auth_failures_total.
      if (!client) return { accept: false, status: 401, json: { error: 'unauthorized', code: 'BRIDGE_ERR_UNAUTHORIZED' }, reason: 'auth' };
      return { accept: true, state: { client, credential: key! }, authenticated: true };
    },
    open(io, _req, state) {
      const admitted = state as { client: ApiClient; credential: string } | null;
      return new CloudEventsSession(io, ctx, admitted?.client ?? null, admitted?.credential);
    },
  };
}
