/**
 * Who may subscribe to what, pure: a checked subject against the client's grants and the upstreams
 * the listener serves, answered with the bus patterns to subscribe or the error to reply.
 *
 * The rules (config `clients[].grants[]`):
 * - a named upstream must be granted to the client (a grant for it, or an `upstream: "*"` grant);
 * - an upstream wildcard (`*`, or `>` as the whole subject) needs an `upstream: "*"` grant;
 * - a concrete id must be granted (listed in `resources`, or `resources` holds `*`);
 * - an id wildcard (`*` or `>` at or before the id) needs a grant whose `resources` hold `*`;
 * - a granted upstream that this listener does not serve is `NOT_FOUND`, checked after the grant
 *   so that a client learns nothing about upstreams it may not see.
 * An upstream wildcard is expanded into one bus pattern per served upstream, so a session never
 * receives events of upstreams its listener does not serve.
 */
import type { ApiClient, ClientDirectory } from '../../src/adapter-kit.ts';
import { withUpstream, type ParsedSubject } from './subject.ts';
import { REPLY_ERRORS, WILDCARDS, type ReplyError } from './vocabulary.ts';

export type Access = { ok: true; patterns: readonly string[] } | { ok: false; code: ReplyError; message: string };

/**
 * Decides a subscription. `prefix` is the bus prefix (`ctx.subjects.prefix`); `served` the
 * listener's upstreams. Pure; never throws.
 */
export function authorizeSubject(
  parsed: ParsedSubject,
  client: ApiClient,
  directory: ClientDirectory,
  served: readonly string[],
  prefix: string,
): Access {
  // permissionsFor matches `*` only against grants that say `*`: exactly the wildcard rules above.
  const upstream = parsed.upstream ?? WILDCARDS.one;
  const id = parsed.id ?? WILDCARDS.one;
  if (directory.permissionsFor(client, upstream, id) === null) {
    const what = parsed.upstream === null ? 'every upstream' : `upstream ${parsed.upstream}`;
    const which = parsed.id === null ? 'every id' : 'this id';
    return { ok: false, code: REPLY_ERRORS.forbidden, message: `no grant covers ${which} of ${what}` };
  }
  if (parsed.upstream === null) {
    return { ok: true, patterns: served.map((u) => `${prefix}.evt.${withUpstream(parsed, u)}`) };
  }
  if (!served.includes(parsed.upstream)) {
    return { ok: false, code: REPLY_ERRORS.notFound, message: `this listener does not serve upstream ${parsed.upstream}` };
  }
  return { ok: true, patterns: [`${prefix}.evt.${parsed.subject}`] };
}
