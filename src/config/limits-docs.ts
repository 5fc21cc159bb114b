/**
 * What each limit does to a client, and where it is counted: the README's "Limits and hardening"
 * table is generated from this and the schema's defaults (`npm run docs`), and a test fails when a
 * key of `limits` or a protection elsewhere in the config has no row here.
 */
import type { TObject, TSchema } from '@sinclair/typebox';
import type { ProtocolAdapter } from '../contracts.ts';
import { LimitsSection } from './schema.ts';

export interface LimitDoc {
  /** Where it is counted (metric and labels). */
  readonly counter: string;
  /** What a client (or an upstream) sees when it hits it. */
  readonly sees: string;
}

const HIT = (key: string) => `\`bridge_limit_hits_total{limit="${key}"}\``;

/** Every key of `limits`, in the schema's order. */
export const LIMIT_DOCS: Readonly<Record<string, LimitDoc>> = {
  maxPayloadBytes: { counter: '`bridge_events_dropped_total{reason="too_large"}`', sees: 'A dashboard frame over it: close 1009 `message too large`. An upstream frame over it: the link closes and reconnects.' },
  writeQueueBytes: { counter: '`bridge_events_dropped_total{reason="slow"}`', sees: 'Close 4108 `slow consumer`; the socket is cut 5 s later if the close frame is not read. Other dashboards are not slowed.' },
  httpTimeoutMs: { counter: '`bridge_upstream_reconnects_total`', sees: 'An upstream token or ticket call that takes longer fails the attempt; the link backs off and retries.' },
  connectTimeoutMs: { counter: '`bridge_upstream_reconnects_total`', sees: 'An upstream handshake that takes longer fails the attempt; the link backs off and retries.' },
  commandTimeoutMs: { counter: '`bridge_commands_total{result="error"}`', sees: 'A command with no reply in time gets the dialect\'s error (Wings: `daemon error`).' },
  backoffInitialMs: { counter: '`bridge_upstream_reconnects_total`', sees: 'First reconnect delay ceiling of an upstream link.' },
  backoffMaxMs: { counter: '`bridge_upstream_reconnects_total`', sees: 'Longest reconnect delay of an upstream link.' },
  backoffMultiplier: { counter: '`bridge_upstream_reconnects_total`', sees: 'Growth of the reconnect delay per failed attempt.' },
  backoffResetMs: { counter: '`bridge_upstream_reconnects_total`', sees: 'An upstream that accepts and drops at once is retried with growing delays; the delay starts over only after a link stayed up this long.' },
  maxConnections: { counter: HIT('maxConnections'), sees: 'Upgrade refused with HTTP 503 `BRIDGE_ERR_CAPACITY` before any WebSocket exists.' },
  maxConnectionsPerAddress: { counter: HIT('maxConnectionsPerAddress'), sees: 'Upgrade refused with HTTP 429 `BRIDGE_ERR_ADDRESS_LIMIT`.' },
  connectRatePerAddress: { counter: HIT('connectRatePerAddress'), sees: 'Upgrade refused with HTTP 429 `BRIDGE_ERR_RATE_LIMITED` and `Retry-After`.' },
  authFailuresPerAddress: { counter: HIT('authFailuresPerAddress'), sees: 'The token and ticket endpoints and upgrades answer HTTP 429 `BRIDGE_ERR_AUTH_FAILURES` with `Retry-After` until the bucket refills.' },
  authFailuresPerSocket: { counter: HIT('authFailuresPerSocket'), sees: 'Close 4115 `too many failed authentications`.' },
  authDeadlineMs: { counter: `${HIT('authDeadlineMs')}, \`bridge_auth_failures_total{reason="auth_timeout"}\``, sees: 'A socket that has not authenticated in time: close 4103 `authentication timeout`.' },
  pingIntervalMs: { counter: '`bridge_heartbeat_timeouts_total`', sees: 'A socket that did not answer the previous ping is terminated (no close frame: the peer is gone).' },
  inboundRate: { counter: `${HIT('inboundRate')}, \`bridge_events_dropped_total{reason="throttled"}\``, sees: 'Frames past the rate are dropped unanswered.' },
  inboundQueueFrames: { counter: HIT('inboundQueueFrames'), sees: 'Close 4109 `too many frames`.' },
  commandRate: { counter: `${HIT('commandRate')}, \`bridge_commands_total{result="throttled"}\``, sees: 'The command is not sent upstream; Wings dashboards get one `throttled` event per episode.' },
  historyRate: { counter: HIT('historyRate'), sees: 'Wings `send logs` past it gets one `throttled` event per episode and no lines.' },
  interestRate: { counter: `${HIT('interestRate')}, \`bridge_events_dropped_total{reason="throttled"}\``, sees: 'A Felix `20002` past it changes nothing (Felix ignores what it does not apply).' },
  interestCoalesceMs: { counter: '—', sees: 'Interest changes within the window reach the upstream as one update with the final union.' },
  historyConcurrency: { counter: HIT('historyConcurrency'), sees: 'History reads wait their turn; past 64 × this many waiting, a read is refused (Wings `send logs` then replays nothing).' },
  clockSkewSeconds: { counter: '`bridge_auth_failures_total{reason="issued_in_future"}`', sees: 'A token whose `iat` is further ahead: Wings `daemon error`.' },
  maxTokenLifetimeSeconds: { counter: '`bridge_auth_failures_total{reason="lifetime"}`', sees: 'A token whose `exp - iat` is longer: Wings `daemon error`.' },
};

/** Protections configured outside `limits`: `http.*` keys and listener options (default read from the adapter). */
export const OTHER_LIMITS: readonly { key: string; dialect?: string; option?: string; dflt?: string; doc: LimitDoc }[] = [
  { key: 'http.allowedHosts', dflt: 'unset: any well-formed Host, and a warning at start', doc: { counter: '`bridge_http_refused_total{code="BRIDGE_ERR_HOST_NOT_ALLOWED"}`', sees: 'A request or upgrade with another Host: HTTP 421 `BRIDGE_ERR_HOST_NOT_ALLOWED` (probes answer any Host); a malformed Host: 400.' } },
  { key: 'listeners[wings].authDeadlineMs', dialect: 'wings', option: 'authDeadlineMs', doc: { counter: HIT('authDeadlineMs'), sees: 'As `limits.authDeadlineMs`, with Wings\' own deadline.' } },
  { key: 'listeners[wings].profile', dialect: 'wings', option: 'profile', doc: { counter: '`bridge_events_dropped_total{reason="throttled"}`, `{reason="too_large"}`', sees: 'With `"1.12"`, Wings 1.12\'s own limits: 30 sockets per server (HTTP 400 `Too many open websocket connections.`), frames over 32 KiB dropped, per-event rates with `throttled`.' } },
  { key: 'listeners[felix].maxIds', dialect: 'felix', option: 'maxIds', doc: { counter: '`bridge_events_dropped_total{reason="too_large"}`', sees: 'A `20002` listing more ids changes nothing.' } },
  { key: 'listeners[cloudevents].maxSubscriptions', dialect: 'cloudevents', option: 'maxSubscriptions', doc: { counter: '`bridge_events_dropped_total{reason="throttled"}`', sees: 'A further `subscribe` gets an `{"op":"error"}` reply; the socket stays open.' } },
  { key: 'listeners[panel].maxTicketsPerClient', dialect: 'panel', option: 'maxTicketsPerClient', doc: { counter: '—', sees: 'That client\'s own oldest ticket stops working ("Invalid Ticket"); no other client\'s. On NATS each relay counts the tickets it minted.' } },
];

function defaultOf(s: TSchema): string {
  return s.default === undefined ? '—' : `\`${JSON.stringify(s.default)}\``;
}

/** The README's limits table. */
export function limitsTable(adapters: readonly ProtocolAdapter[]): string {
  const lines = ['| limit | default | counted in | what a client sees |', '|---|---|---|---|'];
  for (const [key, s] of Object.entries(LimitsSection.properties as Record<string, TSchema>)) {
    const doc = LIMIT_DOCS[key];
    if (!doc) throw new Error(`limits.${key} has no row in src/config/limits-docs.ts`);
    lines.push(`| \`limits.${key}\` | ${defaultOf(s)} | ${doc.counter} | ${doc.sees} |`);
  }
  for (const o of OTHER_LIMITS) {
    let dflt = o.dflt ?? '—';
    if (o.dialect !== undefined && o.option !== undefined) {
      const options = adapters.find((a) => a.protocol === o.dialect)?.listenerOptions as TObject | undefined;
      const schema = options?.properties[o.option];
      if (!schema) throw new Error(`${o.key} is documented but the ${o.dialect} listener has no option ${o.option}`);
      dflt = defaultOf(schema);
    }
    lines.push(`| \`${o.key}\` | ${dflt} | ${o.doc.counter} | ${o.doc.sees} |`);
  }
  return lines.join('\n');
}
