/**
 * The README's Troubleshooting table: one row per row of the error table (src/errors.ts), with the
 * close code and HTTP status taken from there and what to do written here. `ADVICE` is a complete
 * record over the error codes, so a new error row does not compile until it says what to do about it.
 */
import { ERRORS, type BridgeErrorCode } from '../errors.ts';

/** What an operator (or a dashboard's author) should do when they see the row. */
export const ADVICE: Readonly<Record<BridgeErrorCode, string>> = {
  BRIDGE_ERR_NORMAL: 'Nothing: the session ended on purpose.',
  BRIDGE_ERR_SHUTDOWN:
    'The relay is draining (SIGTERM/SIGINT, a rolling update): reconnect with backoff, another replica or the restarted process answers. During a drain upgrades get HTTP 503 and `/readyz` is 503.',
  BRIDGE_ERR_PROTOCOL: 'The client broke the WebSocket protocol itself (e.g. an unmasked frame); fix the client library.',
  BRIDGE_ERR_UNSUPPORTED_DATA:
    'The frame was JSON but not a packet this dialect accepts from a client (room gateway: not `{e,d}`, or an `e` clients do not send); compare with the frames in "Watch the demo". A command to an upstream that takes none (room gateway) is refused with this code too.',
  BRIDGE_ERR_BAD_FRAME:
    'The frame was not JSON, not valid UTF-8, or malformed for the dialect (Semoxy v2 closes on a malformed packet, as Semoxy does); fix what the client sends.',
  BRIDGE_ERR_UNAUTHORIZED:
    'The API key (or Semoxy session / ticket) is missing or unknown: check `clients[].key` and how the dialect wants it (Wings: Bearer to the token endpoint; Felix: raw `Authorization`; CloudEvents: `Authorization: Bearer`; Semoxy v2: `AUTHENTICATE` `sessionId`).',
  BRIDGE_ERR_TOO_LARGE:
    'A frame was larger than `limits.maxPayloadBytes` (Wings 1.12 profile: 32 KiB); on CloudEvents, more subjects than `maxSubscriptions`. Send less, or raise the limit.',
  BRIDGE_ERR_INTERNAL:
    'A bug was contained: the relay logged it (`contained a handler error`) and counted it in `bridge_handler_errors_total`; reconnecting works. Please report the log line.',
  BRIDGE_ERR_NOT_FOUND:
    'No listener, route or resource by that name: check the path (and `listeners[].path`), the server id (full UUID or 8-character short id), the room id (`rooms[].roomId`), and that the listener lists the upstream in `listeners[].upstreams`.',
  BRIDGE_ERR_BAD_REQUEST: 'The request target or the Host header could not be parsed; fix the client or the proxy in front.',
  BRIDGE_ERR_HOST_NOT_ALLOWED:
    'The Host header is not in `http.allowedHosts`: add the name clients use (with or without port), or have the proxy pass the public Host.',
  BRIDGE_ERR_CONFIG: 'The config names something the relay does not know (e.g. a protocol); run `bridge check --config FILE`.',
  BRIDGE_ERR_STARTING:
    'The relay has bound its port but is still starting (bus, simulators, listeners); only /healthz, /readyz and /metrics answer. Retry in a moment; point load balancers at /readyz.',
  BRIDGE_ERR_ROOM_SESSION_ENDED:
    'anonroom ended the participant: no `{"e":1,"d":{}}` since the previous server heartbeat, or the participant was kicked. Answer every server heartbeat within `heartbeatIntervalMs`.',
  BRIDGE_ERR_HEARTBEAT_TIMEOUT:
    'The peer went silent (a dashboard that stopped answering pings, or an upstream link: Felix without a `10001` for `ackTimeoutMs`, a gateway without heartbeats); reconnect. For an upstream, check it is alive: the link retries with backoff.',
  BRIDGE_ERR_AUTH_TIMEOUT:
    'The socket did not authenticate in time (`limits.authDeadlineMs`, Wings 1.12 `authDeadlineMs`); send `auth`/`AUTHENTICATE` right after connecting. Upstream: the far relay did not confirm a subscription.',
  BRIDGE_ERR_UPSTREAM_UNAVAILABLE:
    'The upstream link is not up, or no node owns it, or the bus is down; a command got no owner. Look at `/readyz` (each link\'s state and reason) and `bridge_upstream_links`.',
  BRIDGE_ERR_COMMAND_TIMEOUT:
    'The link owner did not answer within `limits.commandTimeoutMs`: the upstream is slow or the owning node is overloaded. Retry; raise the timeout if the upstream is just slow.',
  BRIDGE_ERR_UPSTREAM_TIMEOUT:
    'The upstream accepted the socket but did not finish its handshake in time (Wings `auth success`, gateway hello, Semoxy `AUTH_SUCCESS`); the link retries. Check the upstream, and the `authTimeoutMs`/`helloTimeoutMs` options.',
  BRIDGE_ERR_UPSTREAM_AUTH:
    'The upstream refused the relay\'s credential: Wings `apiKey` (a client key of a user who can open the servers\' consoles, `websocket.connect`), Felix `token`, Semoxy `session`, a far relay\'s `key`. Fix the secret; the link retries with backoff.',
  BRIDGE_ERR_SLOW_CONSUMER:
    'The dashboard did not read fast enough and more than `limits.writeQueueBytes` waited for it; reconnect. If it is a slow network, raise the limit; if it is a busy client, subscribe to less.',
  BRIDGE_ERR_INBOUND_OVERFLOW: 'The client sent more frames than the relay could queue behind slow work (`limits.inboundQueueFrames`); send less, or wait for answers.',
  BRIDGE_ERR_CAPACITY: 'The relay holds `limits.maxConnections` sockets; add replicas, or raise the limit if the machine has room.',
  BRIDGE_ERR_ADDRESS_LIMIT:
    'One address holds `limits.maxConnectionsPerAddress` sockets. Behind a proxy, set `http.trustedProxies` so the relay sees client addresses, not the proxy\'s; otherwise close idle dashboards or raise the limit.',
  BRIDGE_ERR_AUTH_FAILURES:
    'Too many failed authentications (`limits.authFailuresPerAddress` per address, with `Retry-After`; `limits.authFailuresPerSocket` per socket): fix the key and wait. Behind a proxy, set `http.trustedProxies`.',
  BRIDGE_ERR_CREDENTIAL_EXPIRED:
    'The app-issued JWT the session was opened with reached its `exp` (config `auth.jwt`): the dashboard fetches a fresh token from its application and reconnects. Wings dashboards instead get `token expiring` / `token expired` and re-`auth`, and Semoxy v2 dashboards `AUTH_ERROR "session expired"`.',
  BRIDGE_ERR_RATE_LIMITED:
    'Connects per address came too fast (`limits.connectRatePerAddress`, with `Retry-After`), or too many history reads wait on this node; back off and retry.',
  BRIDGE_ERR_UPSTREAM_REJECTED: 'Wings closed with 4400: the server rejected the connection for good; the link stays `failed` until the config or the server changes (restart the relay then).',
  BRIDGE_ERR_FORBIDDEN:
    'The key is valid but its grants do not cover this (an upstream, a resource id, a permission; CloudEvents `>` or a `*` upstream needs an `"upstream": "*"` grant). Extend `clients[].grants`. With the reason `forbidden: grant withdrawn`: a config reload removed the client, or a permission it held on what the session subscribed to (a token or ticket issued before that reload is refused the same way); reconnect with a key that still has the grant.',
  BRIDGE_ERR_SUSPENDED: 'The Wings server is suspended in the panel (4409); the link stays `failed`. Unsuspend it and restart the relay.',
};

/** The Troubleshooting table: close code, HTTP status, reason, and what to do. */
export function troubleshootingTable(): string {
  const lines = ['| close code | HTTP | code | reason | what to do |', '|---|---|---|---|---|'];
  for (const [code, spec] of Object.entries(ERRORS) as [BridgeErrorCode, (typeof ERRORS)[BridgeErrorCode]][]) {
    lines.push(`| ${spec.close ?? '—'} | ${spec.http} | \`${code}\` | ${spec.reason} | ${ADVICE[code].replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}
