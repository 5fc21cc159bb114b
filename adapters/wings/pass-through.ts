/**
 * Pterodactyl pass-through (config `auth.panel` on a Wings upstream): a dashboard presents its own
 * panel client API key to the relay's token endpoint, and the relay asks the real panel for that
 * user's websocket token for the server, with the very call it makes for its own link. The panel
 * answers as it answers the user: 401 for a key it does not know, 404 for a server the user cannot
 * see, 403 without `websocket.connect`; a 200 carries a token whose `permissions` are exactly the
 * user's on that server, and those (no more) are what the relay's own token will carry.
 *
 * The panel's token is read, not verified: the relay cannot know the node's daemon token, and
 * it received the token straight from the panel URL it is configured with. It is never passed on.
 */
import { peekJwt, type HttpCall, type HttpResult, type LinkSpec, type PassThrough, type PassThroughAnswer } from '../../src/adapter-kit.ts';

const USER = /^[\x21-\x7e]{1,128}$/;
const UNAVAILABLE: PassThroughAnswer = { ok: false, reason: 'unavailable' };

export function wingsPassThrough(panelUrl: string): PassThrough {
  const panel = panelUrl.replace(/\/$/, '');
  return {
    perResource: true,
    request(credential: string, resource: LinkSpec | null): HttpCall {
      return {
        method: 'GET',
        url: `${panel}/api/client/servers/${encodeURIComponent(resource?.id ?? '')}/websocket`,
        headers: { authorization: `Bearer ${credential}`, accept: 'application/json' },
      };
    },
    read(res: HttpResult, resource: LinkSpec | null): PassThroughAnswer {
      if (res.status === 401) return { ok: false, reason: 'invalid' };
      if (res.status === 403) return { ok: false, reason: 'forbidden' };
      if (res.status === 404) return { ok: false, reason: 'not_found' };
      if (res.status !== 200 || resource === null) return UNAVAILABLE;
      const token = (res.json as { data?: { token?: unknown } } | undefined)?.data?.token;
      const claims = typeof token === 'string' ? peekJwt(token) : null;
      if (!claims || claims.server_uuid !== resource.id || !Array.isArray(claims.permissions)) return UNAVAILABLE;
      const permissions = claims.permissions.filter((p): p is string => typeof p === 'string');
      const user = typeof claims.user_uuid === 'string' && USER.test(claims.user_uuid) ? claims.user_uuid : undefined;
      return {
        ok: true,
        resources: [resource.id],
        permissions,
        ...(user ? { user } : {}),
        ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp * 1000 } : {}),
      };
    },
  };
}
