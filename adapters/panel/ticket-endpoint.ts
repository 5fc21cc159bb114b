/**
 * The panel listener's config, and its Semoxy-compatible ticket endpoint:
 * `GET /account/ticket` with `Authorization: Bearer <client API key>` (or `Token <key>`) →
 * `{"success":"ticket created","data":{"token":"…"}}`; no or unknown key → 401 with Semoxy's
 * "Not Logged In" body. The key is a relay API client's; no upstream session ever reaches a dashboard.
 * Tickets come from the core's ticket service (`ctx.tickets`); while it cannot answer (NATS down)
 * minting and ticket upgrades answer 503 in Semoxy's error shape.
 */
import { bearerKey, type HttpRequest, type HttpResponse, type HttpRoute, type ListenerConfigOf, type ListenerContext, type TicketRefusal, type TicketService } from '../../src/adapter-kit.ts';
import type { PanelListenerOptions } from './index.ts';
import { HTTP_ERRORS, PATHS, TICKET_CREATED } from './vocabulary.ts';

/** Which handshakes a listener serves: both (a `ticket` query selects v1), or only one. */
export type ListenerVersion = PanelListenerConfig['version'];

/** The listener's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type PanelListenerConfig = ListenerConfigOf<typeof PanelListenerOptions>;

/**
 * The ticket route's path. Semoxy serves `/account/ticket` next to `/server/events` under one API
 * base, and dashboards build both from that base: a listener at `/panel/server/events` gets
 * `/panel/account/ticket`. null when the route is disabled or the listener speaks v2 only.
 */
export function ticketEndpointOf(config: PanelListenerConfig): string | null {
  if (config.version === 'v2') return null;
  if (config.ticketEndpoint !== undefined) return config.ticketEndpoint === '' ? null : config.ticketEndpoint;
  const path = config.path.replace(/\/+$/, '');
  return path.endsWith(PATHS.events) ? `${path.slice(0, -PATHS.events.length)}${PATHS.ticket}` : PATHS.ticket;
}

/** Semoxy's refusal of a ticket upgrade, by reason: its 401 bodies, or the relay's 503 when tickets cannot be checked. */
export function ticketRefusal(reason: TicketRefusal): { status: 401 | 503; json: (typeof HTTP_ERRORS)[keyof typeof HTTP_ERRORS] } {
  switch (reason) {
    case 'missing':
      return { status: 401, json: HTTP_ERRORS.noTicket };
    case 'expired':
      return { status: 401, json: HTTP_ERRORS.ticketExpired };
    case 'invalid':
      return { status: 401, json: HTTP_ERRORS.invalidTicket };
    case 'unavailable':
      return { status: 503, json: HTTP_ERRORS.ticketsUnavailable };
  }
}

/** The `GET <path>` route that issues tickets from `store`. */
export function ticketRoute(ctx: ListenerContext<PanelListenerConfig>, store: TicketService, path: string): HttpRoute {
  const { principals, telemetry } = ctx;
  return {
    method: 'GET',
    path,
    credential: true,
    async handle(req: HttpRequest): Promise<HttpResponse> {
      const key = bearerKey(req.headers.authorization);
      // A relay key, an app JWT, the hook's principal, or (pass-through) the user's own Semoxy session.
      const resolved = key === null ? null : await principals.resolve(key, { remoteAddress: req.remoteAddress });
      if (!resolved?.ok) {
        telemetry.authFailed(key === null ? 'no_session' : resolved?.ok === false && resolved.reason !== 'unknown' && resolved.reason !== 'invalid' ? resolved.reason : 'api_key');
        return { status: 401, json: HTTP_ERRORS.notLoggedIn };
      }
      const issued = await store.issue(resolved.principal);
      if (!issued.ok) return ticketRefusal(issued.reason);
      return { status: 200, json: { success: TICKET_CREATED, data: { token: issued.ticket } } };
    },
  };
}
