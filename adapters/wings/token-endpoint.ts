/**
 * The panel-compatible token endpoint: `GET /api/client/servers/:server/websocket` with
 * `Authorization: Bearer <credential>` → `{"data":{"token","socket"}}`, the JWT signed by the
 * relay and carrying that principal's grant. The credential is whatever the listener's `auth` list
 * accepts: a relay client key, an app JWT, the hook's principal, or (pass-through) the user's own
 * panel client API key, which the relay asks the real panel about for this very server, so the
 * token carries exactly that user's permissions there. Existing Pterodactyl client libraries,
 * pointed at the relay as if it were the panel, then work unchanged; no upstream credential (and
 * no panel token) ever reaches them.
 */
import { randomUUID } from 'node:crypto';
import { bearerKey, hasPermission, signJwt, type HttpRequest, type HttpResponse, type HttpRoute, type ListenerContext } from '../../src/adapter-kit.ts';
import { findServer, type WingsListenerConfig } from './servers.ts';
import { PERMISSIONS } from './vocabulary.ts';

/** Error bodies shaped like the panel's, so client libraries parse them. */
function panelError(status: number, code: string, detail: string): HttpResponse {
  return { status, json: { errors: [{ code, status: String(status), detail }] } };
}

/** A credential's expiry in whole seconds (floored: the relay's token never outlives it). */
function expiry(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

export function tokenRoute(ctx: ListenerContext<WingsListenerConfig>): HttpRoute {
  const { config, clients, clock, telemetry, principals } = ctx;
  return {
    method: 'GET',
    path: config.tokenEndpoint,
    credential: true,
    async handle(req: HttpRequest): Promise<HttpResponse> {
      const key = bearerKey(req.headers.authorization);
      const server = findServer(ctx, req.params.server ?? '');
      // The key, an app JWT, or (pass-through) the user's own panel key, asked of the panel for this server.
      const resolved = key === null ? null : await principals.resolve(key, { remoteAddress: req.remoteAddress, ...(server ? { resource: server } : {}) });
      if (resolved === null || !resolved.ok) {
        const reason = resolved?.ok === false ? resolved.reason : 'unknown';
        // As the panel: a server the user may not see is 404, one whose console they may not open 403.
        if (reason === 'not_found') return panelError(404, 'NotFoundHttpException', 'The requested resource could not be found on the server.');
        if (reason === 'forbidden') {
          telemetry.authFailed('missing_connect');
          return panelError(403, 'AccessDeniedHttpException', 'This action is unauthorized.');
        }
        telemetry.authFailed(reason === 'unknown' || reason === 'invalid' ? 'api_key' : reason);
        return panelError(401, 'AuthenticationException', 'Unauthenticated.');
      }
      const client = resolved.principal;
      const permissions = server ? clients.permissionsFor(client, server.upstream, server.id) : null;
      // The panel answers 404 for servers the user cannot see, so their existence is not revealed.
      if (!server || !permissions) return panelError(404, 'NotFoundHttpException', 'The requested resource could not be found on the server.');
      if (!hasPermission(permissions, PERMISSIONS.connect)) {
        telemetry.authFailed('missing_connect');
        return panelError(403, 'AccessDeniedHttpException', 'This action is unauthorized.');
      }
      const base = ctx.publicUrl(req);
      const now = Math.floor(clock.now() / 1000);
      const token = await signJwt(
        config.jwtSecret,
        {
          iss: base,
          aud: [base],
          jti: randomUUID(),
          iat: now,
          nbf: now - 300,
          // Never longer than the listener accepts (limits.maxTokenLifetimeSeconds), nor than the
          // credential it was minted for (an app JWT's exp, the panel's own token's).
          exp: Math.min(now + Math.min(config.tokenTtlSeconds, ctx.tokenPolicy.maxLifetimeSeconds), expiry(client.expiresAt) ?? Infinity),
          server_uuid: server.id,
          permissions: [...new Set([...permissions, PERMISSIONS.connect])],
          user_uuid: client.name,
          user_id: 0,
          unique_id: randomUUID(),
          scope: 'websocket',
        },
        clock,
      );
      const socket = `${base.replace(/^http/, 'ws')}${config.path.replace(':server', encodeURIComponent(server.id))}`;
      return { status: 200, json: { data: { token, socket } } };
    },
  };
}
