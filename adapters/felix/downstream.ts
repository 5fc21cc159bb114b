/**
 * Felix, downstream role: the relay is FelixBot's websocket to dashboards.
 *
 * The upgrade needs `Authorization: <credential>` (raw, exactly as Felix: a relay API key, or what
 * another source of the listener's `auth` list admits) of a principal granted one of the
 * listener's upstreams; anything else is HTTP 403 before the upgrade. A session then:
 * `20002 {users, guilds}` replaces what it listens to (subscriptions per id, and declared interest,
 * so the upstream link asks Felix for the union; a 20002 past `limits.interestRate` is ignored and
 * counted); `20001` is answered at once with `10001` built from the last `bot.health`. The core
 * pings every `pingIntervalMs` and terminates a socket that did not pong since the previous ping,
 * as Felix does. Everything else is ignored, as Felix does, and counted.
 */
import type { ApiClient, BridgeEvent, InterestDeclaration, ListenerConfigOf, ListenerContext, ListenerRole, SessionHooks, SessionIO } from '../../src/adapter-kit.ts';
import type { FelixListenerOptions } from './index.ts';
import type { UpgradeRequest, UpgradeVerdict } from '../../src/adapter-kit.ts';
import { decodeFrame, encode, listenersFromData, zeroAckFrame } from './codec.ts';
import type { ListenersWire } from './schema.ts';
import { BOT_ID, CLIENT_CODES, EVENT_TYPES, RESOURCES } from './vocabulary.ts';

/** The listener's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type FelixListenerConfig = ListenerConfigOf<typeof FelixListenerOptions>;

type Ctx = ListenerContext<FelixListenerConfig>;

/** What an accepted upgrade carries into its session. */
interface Admitted {
  readonly client: ApiClient;
  /** The listener's upstreams this client holds a grant on, in config order. */
  readonly upstreams: readonly string[];
  /** What it presented, for the periodic re-check of a hook's or panel's principal (never logged). */
  readonly credential: string;
}

/** The listen lists of one kind (`guild` or `user`) and the canonical type their updates have. */
const KINDS = [
  { resource: RESOURCES.guild, type: EVENT_TYPES.guildUpdated, pick: (l: ListenersWire) => l.guilds },
  { resource: RESOURCES.user, type: EVENT_TYPES.userUpdated, pick: (l: ListenersWire) => l.users },
] as const;

class FelixSession implements SessionHooks {
  /** Every Felix dashboard gets the same bytes: there are no per-client variants. */
  readonly variant = '';
  readonly #io: SessionIO;
  readonly #ctx: Ctx;
  readonly #admitted: Admitted;
  /** subject → its unsubscribe, for the ids this session listens to now. */
  readonly #subs = new Map<string, () => void>();
  /** Cancels the close at the credential's expiry (an app JWT's `exp`; nothing for a key). */
  readonly #unwatch: () => void;

  constructor(io: SessionIO, ctx: Ctx, admitted: Admitted) {
    this.#io = io;
    this.#ctx = ctx;
    this.#admitted = admitted;
    // Felix has no re-auth: a session whose credential expires is closed (4116), and reconnects with a fresh one.
    this.#unwatch = ctx.principals.expireWith(io, admitted.client, undefined, { credential: admitted.credential, context: { remoteAddress: io.remoteAddress } });
  }

  onMessage(text: string): void | Promise<void> {
    const packet = decodeFrame(text);
    if (!packet) return this.#ctx.telemetry.dropped('bad_frame');
    switch (packet.code) {
      case CLIENT_CODES.heartbeat:
        // Returned, so the core holds this socket's next frame until the answer is out.
        return this.#ack();
      case CLIENT_CODES.listenersUpdate: {
        const lists = listenersFromData(packet.data);
        // Felix applies a 20002 only when both lists are arrays; anything else changes nothing.
        if (!lists) return this.#ctx.telemetry.dropped('bad_frame');
        if (lists.users.length + lists.guilds.length > this.#ctx.config.maxIds) return this.#ctx.telemetry.dropped('too_large');
        return this.#listen(lists);
      }
      default:
        return this.#ctx.telemetry.dropped('unknown_event');
    }
  }

  /** Replaces the listen lists: per granted upstream, (un)subscribe per id and declare the ids. */
  #listen(lists: ListenersWire): void {
    const { clients, subjects } = this.#ctx;
    const { client, upstreams } = this.#admitted;
    const wanted = new Set<string>();
    const declared: InterestDeclaration[] = [];
    for (const upstream of upstreams) {
      for (const kind of KINDS) {
        // A grant limited to some resources covers those ids only; others are neither sent nor asked for.
        const ids = kind.pick(lists).filter((id) => clients.permissionsFor(client, upstream, id) !== null);
        for (const id of ids) wanted.add(subjects.event(upstream, kind.type, id));
        declared.push({ upstream, resource: kind.resource, ids });
      }
    }
    // One 20002 is one interest change; past the session's rate it changes nothing (counted by the core).
    // The upstream hears of it after this turn, so the subscriptions below are in place first.
    if (!this.#io.declareInterest(declared)) return;
    for (const [subject, off] of this.#subs) {
      if (wanted.has(subject)) continue;
      off();
      this.#subs.delete(subject);
    }
    for (const subject of wanted) if (!this.#subs.has(subject)) this.#subs.set(subject, this.#io.subscribe(subject));
  }

  /** Answers `20001` with the last `bot.health` of the first granted upstream that has one. */
  async #ack(): Promise<void> {
    const { subjects, clock, log } = this.#ctx;
    let frame: string | null = null;
    try {
      for (const upstream of this.#admitted.upstreams) {
        const last = await this.#io.last(subjects.event(upstream, EVENT_TYPES.health, BOT_ID));
        frame = last ? encode(last, this.variant) : null;
        if (frame !== null) break;
      }
    } catch (err) {
      log.warn('felix session could not read the last bot.health', { err: err as Error });
    }
    this.#io.send(frame ?? zeroAckFrame(clock.now()));
  }

  onEvent(_event: BridgeEvent, frame: Buffer): void {
    // Subscriptions are exact per id, so every event that arrives is one this session listens to.
    this.#io.send(frame);
  }

  onClose(): void {
    this.#unwatch();
    this.#subs.clear();
  }
}

/** Creates the listener: raw-key auth before the upgrade, then one {@link FelixSession} per socket. */
export function createFelixListener(ctx: Ctx): ListenerRole {
  const { config, principals } = ctx;
  const forbidden: UpgradeVerdict = { accept: false, status: 403, text: 'Forbidden', reason: 'auth' };
  return {
    routes: [],
    async authorize(req: UpgradeRequest): Promise<UpgradeVerdict> {
      const key = req.headers.authorization;
      // Any source the listener accepts; a slow or failed one is refused like a wrong key.
      const resolved = key ? await principals.resolve(key, { remoteAddress: req.remoteAddress }) : null;
      if (!resolved?.ok) return forbidden;
      const client = resolved.principal;
      const upstreams = config.upstreams.filter((u) => client.grants.some((g) => g.upstream === '*' || g.upstream === u));
      // A key without a grant here is refused like a wrong one (the core counts `auth` refusals).
      if (upstreams.length === 0) return forbidden;
      return { accept: true, state: { client, upstreams, credential: key ?? '' } satisfies Admitted, authenticated: true };
    },
    open(io, _req, state) {
      const admitted = state as Admitted;
      // A reload that removes the client, or a grant its subscriptions use, closes the session (core).
      io.bindPrincipal(admitted.client.name);
      return new FelixSession(io, ctx, admitted);
    },
  };
}
