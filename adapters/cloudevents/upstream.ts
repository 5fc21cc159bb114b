/**
 * CloudEvents, upstream role: relay chaining. The relay is a client of another relay's CloudEvents
 * listener (or of any producer speaking this dialect) and republishes what it receives locally.
 *
 * One link (`upstream/_`) per configured upstream: connect to `url` with `Authorization: Bearer
 * <key>`, send one `subscribe` per configured subject, and call the link ready on the first
 * `subscribed`. Each inbound event, checked against the BridgeEvent schema, is republished with
 * `io.publish(type, data, subject)`: type, resource id and data are kept; `source` becomes this
 * relay's upstream name (so the local bus subject is `<prefix>.evt.<this upstream>.…`), `id`,
 * `time` and `bridgenode` are this relay's; `bridgehop` is the incoming hop count + 1.
 *
 * Not republished, and counted:
 * - events whose `bridgehop` is `MAX_HOPS` (8) or more: `dropped{reason="throttled"}`, the hop limit
 *   being a limit like any other (loop prevention; see README for what the current core can count);
 * - `upstream.state` events: `dropped{reason="unmapped"}`. They describe the far relay's links, while
 *   this relay's `<this upstream>.upstream.<link id>.state` subjects say how its own links stand (its
 *   listeners close dashboards on a failed one); a far link republished there would pass for one of
 *   ours, and a far `_` link would overwrite this link's own state (`<this upstream>.upstream._.state`).
 */
import { LINK_STATE_TYPE, LinkFailure, handshakeDeadline, retryVerdict } from '../../src/adapter-kit.ts';
import type { CloseErrorCode, CommandReply, ConnectTarget, LinkHooks, LinkIO, LinkSpec, LinkVerdict, Timer, UpstreamConfigOf, UpstreamContext, UpstreamRole } from '../../src/adapter-kit.ts';
import type { CloudEventsUpstreamOptions } from './index.ts';
import { decodeInbound, encodeClient, type ServerReply } from './codec.ts';
import { CLIENT_OPS, DEFAULT_PATH, MAX_HOPS, SERVER_OPS } from './vocabulary.ts';

/** The upstream's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type CloudEventsUpstreamConfig = UpstreamConfigOf<typeof CloudEventsUpstreamOptions>;

/** The one link of a CloudEvents upstream: the events are about whatever the far side sends. */
export const CHAIN_LINK: LinkSpec = Object.freeze({ resource: 'upstream', id: '_' });

/** What a link connects to and asks for, resolved once from the config or the simulator. */
interface ChainTarget {
  readonly url: string;
  readonly key: string;
  readonly subjects: readonly string[];
  /** How long the first `subscribed` reply may take. */
  readonly timeoutMs: number;
}

class CloudEventsLink implements LinkHooks {
  readonly #io: LinkIO;
  readonly #target: ChainTarget;
  #ready = false;
  /** Subjects the far side refused during this connection. */
  readonly #refused = new Set<string>();
  #timer: Timer | null = null;

  constructor(io: LinkIO, target: ChainTarget) {
    this.#io = io;
    this.#target = target;
  }

  async prepare(): Promise<ConnectTarget> {
    const { url, key } = this.#target;
    if (!url || !key) throw new LinkFailure('no url or key configured', true);
    return { url, headers: { authorization: `Bearer ${key}` } };
  }

  onOpen(): void {
    this.#ready = false;
    this.#refused.clear();
    for (const subject of this.#target.subjects) this.#io.send(encodeClient({ op: CLIENT_OPS.subscribe, subject }));
    this.#timer?.cancel();
    this.#timer = handshakeDeadline(this.#io, this.#target.timeoutMs, { reason: 'timeout', code: 'BRIDGE_ERR_AUTH_TIMEOUT', detail: 'no subscribed reply' });
  }

  onMessage(text: string): void {
    const frame = decodeInbound(text);
    if (frame === null) return this.#io.telemetry.dropped('bad_frame');
    if (frame.kind === 'reply') return this.#onReply(frame.reply);
    const { type, subject, data, bridgehop } = frame.event;
    if (bridgehop >= MAX_HOPS) return this.#io.telemetry.dropped('throttled');
    if (type === LINK_STATE_TYPE) return this.#io.telemetry.dropped('unmapped');
    this.#io.publish(type, data, subject, bridgehop + 1);
  }

  #onReply(reply: ServerReply): void {
    if (reply.op === SERVER_OPS.subscribed) {
      if (this.#ready) return;
      this.#ready = true;
      this.#timer?.cancel();
      return this.#io.ready();
    }
    if (reply.op !== SERVER_OPS.error) return;
    this.#io.log.warn('cloudevents upstream refused a message', { code: reply.code, message: reply.message, subject: reply.subject });
    const { subjects } = this.#target;
    if (reply.subject === undefined || !subjects.includes(reply.subject)) return;
    this.#refused.add(reply.subject);
    this.#io.telemetry.authFailed('subscribe_refused');
    // With nothing left to wait for, the socket is useless: reconnect later, grants may change.
    if (!this.#ready && this.#refused.size === new Set(subjects).size) this.#close('BRIDGE_ERR_FORBIDDEN', 'every subscription refused');
  }

  #close(code: CloseErrorCode, detail: string): void {
    this.#io.close(code, detail);
  }

  onClose(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict {
    this.#ready = false;
    this.#timer?.cancel();
    if (info.httpStatus === 401 || info.httpStatus === 403) this.#io.telemetry.authFailed(`http_${info.httpStatus}`);
    // Nothing is terminal: a refused key or a restarting relay may both be fixed on the far side.
    return retryVerdict(info);
  }

  onCommand(): CommandReply {
    return { ok: false, code: 'BRIDGE_ERR_UNSUPPORTED_DATA', message: 'a cloudevents upstream takes no commands' };
  }

  dispose(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }
}

/** Creates the upstream role; with `simulator` set, url and key come from the simulator. */
export function createCloudEventsUpstream(ctx: UpstreamContext<CloudEventsUpstreamConfig>): UpstreamRole {
  const { config, simulator } = ctx;
  const url = config.url ?? (simulator ? `${simulator.url.replace(/^http/, 'ws')}${DEFAULT_PATH}` : '');
  const key = config.key ?? simulator?.credentials.apiKey ?? '';
  return {
    links: () => [CHAIN_LINK],
    link: (_spec, io) => new CloudEventsLink(io, { url, key, subjects: config.subjects, timeoutMs: config.subscribeTimeoutMs }),
  };
}
