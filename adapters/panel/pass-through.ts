/**
 * Semoxy pass-through (config `auth.panel` on a panel upstream): a dashboard's own Semoxy session
 * is checked against the real panel with a ticket request (`GET /account/ticket` with the
 * session), as the relay's own link asks for one. A ticket means a logged-in session; Semoxy has
 * no per-server permissions, so the principal sees every server of that upstream (as it would on
 * the panel) and nothing of any other upstream. The ticket itself is dropped. A panel that serves
 * only v2 has no ticket endpoint (404): its sessions cannot be checked this way (`unavailable`).
 */
import type { HttpCall, HttpResult, PassThrough, PassThroughAnswer } from '../../src/adapter-kit.ts';
import { PATHS } from './vocabulary.ts';

export function semoxyPassThrough(baseUrl: string): PassThrough {
  const base = baseUrl.replace(/\/$/, '');
  return {
    perResource: false,
    request(credential: string): HttpCall {
      return { method: 'GET', url: `${base}${PATHS.ticket}`, headers: { authorization: `Bearer ${credential}`, accept: 'application/json' } };
    },
    read(res: HttpResult): PassThroughAnswer {
      if (res.status === 401 || res.status === 403) return { ok: false, reason: 'invalid' };
      const token = (res.json as { data?: { token?: unknown } } | undefined)?.data?.token;
      if (res.status !== 200 || typeof token !== 'string' || token === '') return { ok: false, reason: 'unavailable' };
      return { ok: true, resources: ['*'], permissions: ['*'] };
    },
  };
}
