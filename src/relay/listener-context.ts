/**
 * What the relay hands each listener it mounts (the adapter's `createListener`): its config, the
 * relay's slices, the principals its `auth` names, the resources of the upstreams it serves, and
 * the public URL its token and ticket endpoints put in what they issue.
 */
import type { Clock } from '../clock.ts';
import type { ClientRegistry } from '../auth/clients.ts';
import type { Principals } from '../auth/principals.ts';
import type { TicketServices } from '../cluster/tickets.ts';
import type { BridgeConfig, ListenerConfig } from '../config/schema.ts';
import type { HttpRequest, ListenerContext, Log, TokenPolicy } from '../contracts.ts';
import type { DownstreamServer } from '../downstream/server.ts';
import type { Metrics } from '../metrics.ts';
import type { Subjects } from '../subjects.ts';
import type { Supervisor } from '../upstream/supervisor.ts';

export interface ListenerParts {
  /** The config in force (a reload replaces it). */
  config(): BridgeConfig;
  clock: Clock;
  log: Log;
  subjects: Subjects;
  clients: ClientRegistry;
  principals: Principals;
  metrics: Metrics;
  supervisor: Supervisor;
  /** One object for every listener, changed in place by a reload. */
  tokenPolicy: TokenPolicy;
  tickets: TicketServices;
  server: DownstreamServer;
  /** The port bound. */
  port(): number;
}

export function listenerContext(p: ListenerParts, listener: ListenerConfig): ListenerContext<ListenerConfig> {
  const served = new Set(listener.upstreams);
  return {
    config: listener,
    node: p.config().node.id,
    clock: p.clock,
    log: p.log,
    subjects: p.subjects,
    clients: p.clients,
    principals: p.principals.forListener(listener),
    telemetry: p.metrics.telemetry(listener.dialect, 'downstream'),
    resources: () => p.supervisor.resources().filter((r) => served.has(r.upstream)),
    // One object for every listener, changed in place by a reload (read per token).
    tokenPolicy: p.tokenPolicy,
    tickets: (policy) => p.tickets(listener.name, policy),
    publicUrl: (req: HttpRequest) => {
      const publicUrl = p.config().http.publicUrl;
      if (publicUrl) return publicUrl.replace(/\/$/, '');
      const proto = p.server.host.secure || req.forwardedProto === 'https' ? 'https' : 'http';
      return `${proto}://${req.headers.host ?? `127.0.0.1:${p.port()}`}`;
    },
  };
}
