/**
 * Panel, downstream role: the relay is a Semoxy panel's event socket to dashboards.
 *
 * One WebSocket path (default /server/events) serves both wire versions: a `ticket` in the query
 * selects v1 (the ticket era), none selects v2 (AUTHENTICATE as the first frame). v1 tickets come
 * from the listener's ticket route and are checked before the upgrade, refused with Semoxy's exact
 * HTTP 401 bodies: "No Ticket Provided" (an empty `?ticket=`), "Ticket expired", "Invalid Ticket".
 * Listener option `version` narrows the path to one handshake (`v1`: no ticket is "No Ticket
 * Provided", as the original server; `v2`: the query is ignored). See session.ts for the sockets.
 */
import type { ListenerContext, ListenerRole, UpgradeRequest, UpgradeVerdict } from '../../src/adapter-kit.ts';
import type { ApiClient } from '../../src/adapter-kit.ts';
import type { PanelVersion } from './codec.ts';
import { PanelSession, servedUpstreams, type ServedUpstream, type SessionDeps } from './session.ts';
import { ticketEndpointOf, ticketRefusal, ticketRoute, type PanelListenerConfig } from './ticket-endpoint.ts';

type Ctx = ListenerContext<PanelListenerConfig>;

/** What `authorize` learned, handed to `open`. */
interface Admission {
  readonly version: PanelVersion;
  readonly client: ApiClient | null;
}

const V2: Admission = Object.freeze({ version: 'v2', client: null });

export function createPanelListener(ctx: Ctx): ListenerRole {
  const { config } = ctx;
  // The core's ticket service: this process's on the memory bus, the cluster's on NATS.
  const store = ctx.tickets({ ttlSeconds: config.ticketTtlSeconds, reusable: config.reusableTickets, maxPerClient: config.maxTicketsPerClient });
  const endpoint = ticketEndpointOf(config);
  // Resources are fixed once the relay has started; the maps are built on first use, not at mount.
  let protocols: ReadonlyMap<string, string> | null = null;
  let served: ReadonlyMap<string, ServedUpstream> | null = null;
  const deps: SessionDeps = {
    ctx,
    protocolOf(upstream) {
      protocols ??= new Map(ctx.resources().map((r) => [r.upstream, r.protocol]));
      return protocols.get(upstream);
    },
    served() {
      return (served ??= servedUpstreams(ctx.resources()));
    },
  };
  return {
    routes: endpoint === null ? [] : [ticketRoute(ctx, store, endpoint)],
    async authorize(req: UpgradeRequest): Promise<UpgradeVerdict> {
      const ticket = req.query.get('ticket');
      if (config.version === 'v2' || (config.version === 'both' && ticket === null)) return { accept: true, state: V2 };
      const redeemed = await store.redeem(ticket);
      if (!redeemed.ok) return { accept: false, ...ticketRefusal(redeemed.reason), reason: redeemed.reason === 'unavailable' ? 'unavailable' : 'auth' };
      // The ticket was the credential: a v1 socket is authenticated at the upgrade.
      return { accept: true, state: { version: 'v1', client: redeemed.client } satisfies Admission, authenticated: true };
    },
    open(io, _req, state) {
      const admission = state as Admission;
      return new PanelSession(io, deps, admission.version, admission.client);
    },
  };
}
