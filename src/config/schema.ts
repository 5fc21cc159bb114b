/**
 * The config file, declared once in TypeBox. The schema *is* the documentation: every option has
 * a description and its default inline, and `bridge.config.schema.json` is generated from here.
 *
 * Protocol-specific options come from each adapter (`upstreamOptions`, `listenerOptions`,
 * `simulatorOptions`); this module merges them with the shared keys into one object schema per
 * protocol, so that unknown keys are errors at every level.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import type { ProtocolAdapter } from '../contracts.ts';
import type { TlsConfig } from '../tls.ts';

export { Secret } from './schema-secret.ts';
import { Secret } from './schema-secret.ts';
import { AuthSection, ListenerAuth, type AuthConfig } from './auth-schema.ts';

export const Name = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Letters, digits, _ and -.' });

/** A token bucket: up to `burst` at once, one more every `refillMs`. */
export function Rate(burst: number, refillMs: number, description: string) {
  return Type.Object(
    {
      burst: Type.Integer({ minimum: 1, default: burst, description: 'How many at once.' }),
      refillMs: Type.Integer({ minimum: 1, default: refillMs, description: 'One more every this many ms.' }),
    },
    { additionalProperties: false, default: { burst, refillMs }, description },
  );
}

export const NodeSection = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'This node\'s id (default: the host name).' })),
    workers: Type.Integer({ minimum: 1, maximum: 256, default: 1, description: 'Relay processes serving the one port (node:cluster): past 1, a primary process runs the simulators and forks this many workers, each a cluster node with id `<id>-w<i>` (i from 1). Needs `bus.kind` "nats". The `--workers N` flag overrides it.' }),
  },
  { additionalProperties: false, default: {} },
);

export const HttpSection = Type.Object(
  {
    host: Type.String({ default: '0.0.0.0', description: 'Address the one port binds to.' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'The one port for every listener, /metrics, /healthz and /readyz (0 = any free port).' }),
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'Base URL clients reach the relay at (used in token responses); default: from the Host header.' })),
    shutdownGraceMs: Type.Integer({ minimum: 0, default: 10000, description: 'Hard bound on the whole SIGTERM drain: the process has exited when it is over.' }),
    allowedHosts: Type.Optional(Type.Array(Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_][A-Za-z0-9_.-]*)(:[0-9]{1,5})?$' }), { description: 'Host headers the relay serves (`host` matches any port, `host:port` only that one); a request or upgrade with another Host gets 421, a malformed Host 400; /healthz, /readyz and /metrics answer any Host. Unset: any well-formed Host, and without `publicUrl` the token and ticket endpoints build their URLs from it (a warning is logged at start).' })),
    tls: Type.Optional(
      Type.Object(
        {
          cert: { ...Secret, description: 'The PEM certificate chain (leaf first): a string, {"env":"NAME"} or {"file":"PATH"}.' },
          key: { ...Secret, description: 'Its PEM private key: a string, {"env":"NAME"} or {"file":"PATH"}.' },
        },
        { additionalProperties: false, description: 'Serve `https://` and `wss://` on the one port with this certificate and key (checked at load: `bridge check` reports an unreadable or mismatched pair). Files are read again on every config reload (SIGHUP, `bridge reload`), which swaps the certificate for new connections without dropping open ones. Unset: plain HTTP (put a reverse proxy in front for TLS).' },
      ),
    ),
    trustedProxies: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Reverse proxies (addresses or CIDR blocks, e.g. 10.0.0.0/8) whose X-Forwarded-For names the client address for the per-address limits: the last hop that is not a trusted proxy counts. Their X-Forwarded-Proto also sets the scheme of token URLs when `publicUrl` is unset; from any other peer it is ignored.' }),
  },
  { additionalProperties: false, default: {} },
);

export const BusSection = Type.Object(
  {
    kind: Type.Union([Type.Literal('memory'), Type.Literal('nats')], { default: 'memory', description: '`memory` (in-process) or `nats`.' }),
    prefix: Type.String({ pattern: '^[A-Za-z0-9_-]+$', default: 'bridge', description: 'First token of every subject.' }),
    servers: Type.Array(Type.String({ pattern: '^(nats|tls)://' }), { minItems: 1, default: ['nats://127.0.0.1:4222'], description: 'NATS server URLs (kind nats).' }),
    token: Type.Optional(Secret),
    user: Type.Optional(Type.String()),
    password: Type.Optional(Secret),
    historyLimit: Type.Integer({ minimum: 1, maximum: 10000, default: 150, description: 'Events kept per subject for console-like types (send logs).' }),
    storage: Type.Union([Type.Literal('file'), Type.Literal('memory')], { default: 'file', description: 'JetStream storage of the history streams (kind nats).' }),
    maxAgeSeconds: Type.Integer({ minimum: 1, default: 86400, description: 'How long JetStream keeps history (kind nats).' }),
    replicas: Type.Integer({ minimum: 1, maximum: 5, default: 1, description: 'JetStream replicas of the history streams and the cluster\'s KV buckets (kind nats); 3 on a 3-node NATS cluster, so that losing one NATS node loses neither history nor leases.' }),
  },
  { additionalProperties: false, default: {} },
);

export const ClusterSection = Type.Object(
  {
    leaseTtlMs: Type.Integer({
      minimum: 1000,
      maximum: 300000,
      default: 10000,
      description: 'Lifetime of an upstream link\'s ownership lease in NATS KV (kind nats). The owner renews it every fifth of this and drops its link once half of it has passed without a renewal; another node takes over a dead owner\'s link within this time, and at once after a drain. Links are spread over the nodes: a node that is not a link\'s preferred one hands it over to that one after holding it twice this long.',
    }),
    interestTtlMs: Type.Integer({
      minimum: 1000,
      maximum: 300000,
      default: 15000,
      description: 'How long a node\'s published dashboard interest (Felix users/guilds) counts without a refresh (kind nats).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const GrantSchema = Type.Object(
  {
    upstream: Type.String({ pattern: '^([A-Za-z0-9_-]{1,64}|\\*)$', description: 'Upstream name, or * for all.' }),
    resources: Type.Array(Type.String({ minLength: 1 }), { default: ['*'], description: 'Resource ids (server uuids, …), or * for all.' }),
    permissions: Type.Array(Type.String({ minLength: 1 }), { default: ['*'], description: 'Permissions (Wings names; * = all but admin.*).' }),
  },
  { additionalProperties: false },
);

export const ClientSchema = Type.Object(
  {
    name: Name,
    key: Secret,
    grants: Type.Array(GrantSchema, { default: [], description: 'What this client may see and do.' }),
  },
  { additionalProperties: false },
);

export const LimitsSection = Type.Object(
  {
    maxPayloadBytes: Type.Integer({ minimum: 256, default: 65536, description: 'Largest frame accepted from a dashboard or an upstream.' }),
    writeQueueBytes: Type.Integer({ minimum: 1024, default: 1048576, description: 'Per-session write-queue high-water mark; past it the session is closed as a slow consumer (4108).' }),
    httpTimeoutMs: Type.Integer({ minimum: 100, default: 10000, description: 'Timeout of HTTP calls to upstreams (token and ticket endpoints).' }),
    connectTimeoutMs: Type.Integer({ minimum: 100, default: 10000, description: 'Timeout of an upstream WebSocket handshake.' }),
    commandTimeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'How long a dashboard command waits for the link owner.' }),
    backoffInitialMs: Type.Integer({ minimum: 1, default: 500, description: 'First reconnect delay ceiling (full jitter below it).' }),
    backoffMaxMs: Type.Integer({ minimum: 1, default: 30000, description: 'Cap of the reconnect delay.' }),
    backoffMultiplier: Type.Number({ minimum: 1, default: 2, description: 'Growth of the delay ceiling per failed attempt.' }),
    backoffResetMs: Type.Integer({ minimum: 0, default: 10000, description: 'A link must stay ready this long before its backoff starts again from backoffInitialMs.' }),
    maxConnections: Type.Integer({ minimum: 1, default: 10000, description: 'Dashboard WebSockets this relay holds at once; past it upgrades get 503 (BRIDGE_ERR_CAPACITY).' }),
    maxConnectionsPerAddress: Type.Integer({ minimum: 1, default: 100, description: 'Dashboard WebSockets from one remote address at once; past it upgrades get 429 (BRIDGE_ERR_ADDRESS_LIMIT).' }),
    connectRatePerAddress: Rate(30, 100, 'Upgrades per remote address; past it upgrades get 429 (BRIDGE_ERR_RATE_LIMITED).'),
    authFailuresPerAddress: Rate(10, 6000, 'Failed authentications per remote address; past it the token and ticket endpoints and upgrades answer 429 (BRIDGE_ERR_AUTH_FAILURES).'),
    authFailuresPerSocket: Type.Integer({ minimum: 1, default: 5, description: 'Failed authentications on one socket before it is closed (4115 BRIDGE_ERR_AUTH_FAILURES).' }),
    authDeadlineMs: Type.Integer({ minimum: 100, default: 10000, description: 'A dashboard socket that has not authenticated within this time is closed (4103); listeners with their own `authDeadlineMs` use theirs.' }),
    pingIntervalMs: Type.Integer({ minimum: 100, default: 30000, description: 'WebSocket ping period of every dashboard socket; a socket that has not answered the previous ping is terminated. Listeners with their own `pingIntervalMs` use theirs.' }),
    inboundRate: Rate(100, 20, 'Frames per dashboard socket; past it frames are dropped and counted (reason throttled).'),
    inboundQueueFrames: Type.Integer({ minimum: 1, default: 32, description: 'Frames of one dashboard socket waiting behind slow work (a token check, a history read); past it the socket is closed (4109).' }),
    commandRate: Rate(10, 1000, 'Commands (console lines, power actions) per dashboard socket; past it they are refused in the dialect\'s words and counted.'),
    historyRate: Rate(2, 2500, 'History reads (Wings `send logs`) per dashboard socket; past it they are refused and counted.'),
    interestRate: Rate(5, 200, 'Interest changes (Felix 20002) per dashboard socket; past it they are dropped and counted.'),
    interestCoalesceMs: Type.Integer({ minimum: 0, default: 100, description: 'Interest changes within this window reach the upstream as one update with the final union.' }),
    historyConcurrency: Type.Integer({ minimum: 1, default: 16, description: 'History reads this node runs against the bus at once; more wait their turn.' }),
    clockSkewSeconds: Type.Integer({ minimum: 0, default: 60, description: 'How far in the future a token\'s `iat` may be.' }),
    maxTokenLifetimeSeconds: Type.Integer({ minimum: 1, default: 86400, description: 'Tokens whose `exp - iat` is longer are refused.' }),
  },
  { additionalProperties: false, default: {} },
);

/** The log levels, least to most quiet (also the CLI's `--log-level` and `BRIDGE_LOG_LEVEL`). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export const LogSection = Type.Object(
  {
    level: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info', description: 'Least severe level logged. `--log-level` and then `BRIDGE_LOG_LEVEL` win over it. A reload changes it in place.' }),
  },
  { additionalProperties: false, default: {} },
);

/** Keys every upstream has, whatever its protocol. */
export const UpstreamBase = {
  name: Name,
  protocol: Type.String({ description: 'Which adapter speaks to this upstream.' }),
  simulator: Type.Optional(Type.String({ description: 'Name of a built-in simulator to use as this upstream (fills its URL and credentials).' })),
} satisfies TProperties;

export const ListenerBase = {
  name: Type.Optional(Name),
  dialect: Type.String({ description: 'Which adapter speaks to the dashboards of this listener.' }),
  path: Type.Optional(Type.String({ pattern: '^/', description: 'WebSocket path with :params (default: the dialect\'s).' })),
  upstreams: Type.Array(Name, { minItems: 1, description: 'Upstreams whose events this listener serves.' }),
  auth: ListenerAuth,
} satisfies TProperties;

export const SimulatorBase = {
  name: Name,
  protocol: Type.String(),
  host: Type.String({ default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 0, description: '0 = any free port.' }),
} satisfies TProperties;

function merged(base: TProperties, discriminator: string, protocol: string, options: TSchema): TObject {
  const own = (options as TObject).properties ?? {};
  return Type.Object(
    { ...base, [discriminator]: Type.Literal(protocol), ...own },
    { additionalProperties: false, title: `${protocol}` },
  );
}

/** The per-protocol item schemas, keyed by protocol name. */
export function itemSchemas(adapters: readonly ProtocolAdapter[]) {
  const upstream = new Map<string, TObject>();
  const listener = new Map<string, TObject>();
  const simulator = new Map<string, TObject>();
  for (const a of adapters) {
    upstream.set(a.protocol, merged(UpstreamBase, 'protocol', a.protocol, a.upstreamOptions));
    listener.set(a.protocol, merged(ListenerBase, 'dialect', a.protocol, a.listenerOptions));
    simulator.set(a.protocol, merged(SimulatorBase, 'protocol', a.protocol, a.simulatorOptions));
  }
  return { upstream, listener, simulator };
}

/** The shared sections, with `upstreams`/`listeners`/`simulators` items as loose objects (checked per protocol). */
export const CoreSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    node: NodeSection,
    http: HttpSection,
    bus: BusSection,
    cluster: ClusterSection,
    clients: Type.Array(ClientSchema, { default: [] }),
    auth: AuthSection,
    // Items are checked one by one against their protocol's schema (src/config/load.ts).
    upstreams: Type.Array(Type.Unknown(), { default: [] }),
    listeners: Type.Array(Type.Unknown(), { default: [] }),
    simulators: Type.Array(Type.Unknown(), { default: [] }),
    limits: LimitsSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

/** The complete schema (what bridge.config.schema.json holds). */
export function fullSchema(adapters: readonly ProtocolAdapter[]): TObject {
  const items = itemSchemas(adapters);
  const anyOf = (m: Map<string, TObject>) => Type.Union([...m.values()]);
  return Type.Object(
    {
      ...CoreSchema.properties,
      upstreams: Type.Array(anyOf(items.upstream), { default: [], description: 'Upstream sockets the relay connects to.' }),
      listeners: Type.Array(anyOf(items.listener), { default: [], description: 'Dialects served to dashboards on the one port.' }),
      simulators: Type.Array(anyOf(items.simulator), { default: [], description: 'Built-in fake upstream servers (demo and tests).' }),
    },
    {
      additionalProperties: false,
      $id: 'https://protocol-bridge.dev/bridge.config.schema.json',
      title: 'protocol-bridge configuration',
    },
  );
}

export type NodeConfig = Static<typeof NodeSection> & { id: string };
/** The http section with `tls` loaded (a file stays a path: src/tls.ts). */
export type HttpConfig = Omit<Static<typeof HttpSection>, 'tls'> & { tls?: TlsConfig };
/** The bus section with secrets resolved. */
export type BusConfig = Omit<Static<typeof BusSection>, 'token' | 'password'> & { token?: string; password?: string };
export type ClusterConfig = Static<typeof ClusterSection>;
export type GrantConfig = Static<typeof GrantSchema>;
export interface ClientConfig {
  name: string;
  key: string;
  grants: GrantConfig[];
}
export type LimitsConfig = Static<typeof LimitsSection>;
export type LogConfig = Static<typeof LogSection>;

export interface UpstreamConfig {
  name: string;
  protocol: string;
  simulator?: string;
  [option: string]: unknown;
}
export interface ListenerConfig {
  name: string;
  dialect: string;
  path: string;
  upstreams: string[];
  /** The principal sources it accepts, in order (default `["static"]`). */
  auth: readonly ('static' | 'jwt' | 'hook' | 'panel')[];
  [option: string]: unknown;
}
export interface SimulatorConfig {
  name: string;
  protocol: string;
  host: string;
  port: number;
  [option: string]: unknown;
}

/** The loaded config: defaults applied, secrets resolved, deep-frozen. */
export interface BridgeConfig {
  readonly node: Readonly<NodeConfig>;
  readonly http: Readonly<HttpConfig>;
  readonly bus: Readonly<BusConfig>;
  readonly cluster: Readonly<ClusterConfig>;
  readonly clients: readonly Readonly<ClientConfig>[];
  readonly auth: AuthConfig;
  readonly upstreams: readonly Readonly<UpstreamConfig>[];
  readonly listeners: readonly Readonly<ListenerConfig>[];
  readonly simulators: readonly Readonly<SimulatorConfig>[];
  readonly limits: Readonly<LimitsConfig>;
  readonly log: Readonly<LogConfig>;
}
