/**
 * Wings, downstream role: the relay is a Wings daemon to dashboards.
 *
 * `GET <path>` (default /api/servers/:server/ws) → origin allow-list → upgrade. Then the session
 * waits for `auth` with an HS256 JWT the relay signed (see token-endpoint.ts). First auth:
 * `auth success`, then `status` (and one `stats` when offline) before anything else, and the
 * session joins the server's events: it subscribes first, so nothing is missed, and holds what
 * arrives (bounded) until the state went out.
 *
 * The token is checked as Wings checks it (REAL-BEHAVIOUR.md "Token lifecycle"): on every inbound
 * non-auth message and before every outbound event, in whole seconds, so it works until exp + 1 s;
 * after that every event is replaced by, and every message answered with, the exp `jwt error`,
 * and the socket stays open until a new `auth`. A timer per listener only sends the notices:
 * `token expiring` with ≤ 60 s left, `token expired` once expired, each check interval.
 *
 * A server whose link failed for good (the upstream closed it with 4409 suspended, or 4400) is
 * served as Wings serves it: its dashboards are closed with that code, and new ones at `auth`.
 *
 * In both profiles the core closes a socket not authenticated within `authDeadlineMs` (4103, as
 * Wings 1.12), pings every socket, closes one after `limits.authFailuresPerSocket` refused tokens,
 * and limits commands and `send logs` per session; a refused one is answered as Wings 1.12 does,
 * with one `throttled` naming the event per episode. Profile 1.12 adds Wings' own per-event limits.
 */
import type { ListenerRole, ResourceRef, UpgradeRequest, UpgradeVerdict } from '../../src/adapter-kit.ts';
import { MAX_SOCKETS_PER_SERVER } from './limits.ts';
import { listenerState } from './listener-state.ts';
import { findServer } from './servers.ts';
import { WingsSession, type Ctx } from './session.ts';
import { tokenRoute } from './token-endpoint.ts';
import { HTTP_ERRORS } from './vocabulary.ts';

export function createWingsListener(ctx: Ctx): ListenerRole {
  const { config } = ctx;
  const anyOrigin = config.allowedOrigins.includes('*');
  const shared = listenerState(ctx.clock, config.tokenCheckIntervalMs);
  const { sockets } = shared;
  return {
    routes: config.tokenEndpoint ? [tokenRoute(ctx)] : [],
    authorize(req: UpgradeRequest): UpgradeVerdict {
      const server = findServer(ctx, req.params.server ?? '');
      if (!server) return { accept: false, status: 404, json: { error: HTTP_ERRORS.notFound }, reason: 'not_found' };
      const origin = req.headers.origin;
      if (!anyOrigin && (origin === undefined || !config.allowedOrigins.includes(origin))) {
        return { accept: false, status: 403, text: 'Forbidden', reason: 'origin' };
      }
      if (config.profile === '1.12' && sockets.count(server) >= MAX_SOCKETS_PER_SERVER) {
        return { accept: false, status: 400, json: { error: HTTP_ERRORS.tooMany }, reason: 'limit' };
      }
      return { accept: true, state: server };
    },
    open(io, _req, state) {
      return new WingsSession(io, ctx, state as ResourceRef, shared);
    },
  };
}
