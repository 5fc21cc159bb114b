/**
 * The CloudEvents dialect on the generic relay harness (test/helpers/relay-harness.ts):
 * - relay A: the Wings simulator as upstream `up` (servers S1 running, S2 offline), a CloudEvents
 *   listener on /cloudevents and a second one on /cloudevents-capped with `maxSubscriptions: 2`;
 * - relay B: a `cloudevents` upstream `a` pointed at relay A's listener (relay chaining), and its
 *   own CloudEvents listener.
 */
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { quietSimulator } from '../../bench/quiet-simulators.ts';
import { ADAPTERS } from '../../src/registry.ts';
import type { Relay } from '../../src/relay.ts';
import { readyOrStop, startRelay as startTestRelay, type RelayHandle, type StartOptions } from './relay-harness.ts';
import { S1, S2 } from './wings-harness.ts';

export const ALL_ADAPTERS = ADAPTERS;

/** The Wings servers of the Wings harness: S1 running, S2 offline. */
export { S1, S2 } from './wings-harness.ts';
/** Every server of `up`, every permission (install output included). */
export const ADMIN_KEY = 'ce_test_admin_key';
/** Only S1 of `up`, without the install permission. */
export const VIEWER_KEY = 'ce_test_viewer_key';
/** `upstream: "*"`, every resource. */
export const STAR_KEY = 'ce_test_star_key';
/** `upstream: "*"`, S1 only. */
export const STAR_S1_KEY = 'ce_test_star_s1_key';
/** Relay B's key at relay A: `up`, every resource. */
export const CHAIN_KEY = 'ce_test_chain_key';
/** Relay B's own client. */
export const B_KEY = 'ce_test_b_key';

export type { RelayHandle, StartOptions };

/** The generic relay harness with node id `ce-node` unless `o.node` names another. */
export function startRelay(raw: Record<string, unknown>, o: StartOptions): Promise<RelayHandle> {
  return startTestRelay(raw, { ...o, node: o.node ?? 'ce-node' });
}

/** Relay A: Wings simulator upstream `up` and two CloudEvents listeners. Links ready on return. */
export async function startRelayA(o: StartOptions): Promise<RelayHandle & { sim: WingsSimulator }> {
  const h = await startRelay(
    {
      clients: [
        { name: 'admin', key: ADMIN_KEY, grants: [{ upstream: 'up', permissions: ['*', 'admin.websocket.install'] }] },
        { name: 'viewer', key: VIEWER_KEY, grants: [{ upstream: 'up', resources: [S1], permissions: ['websocket.connect'] }] },
        { name: 'star', key: STAR_KEY, grants: [{ upstream: '*' }] },
        { name: 'star-s1', key: STAR_S1_KEY, grants: [{ upstream: '*', resources: [S1] }] },
        { name: 'relay-b', key: CHAIN_KEY, grants: [{ upstream: 'up' }] },
      ],
      simulators: [
        quietSimulator('wings', 'sim', { servers: [{ uuid: S1, state: 'running' }, { uuid: S2, state: 'offline' }] }),
      ],
      upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1, S2] }],
      listeners: [
        { name: 'ce', dialect: 'cloudevents', upstreams: ['up'] },
        { name: 'ce-capped', dialect: 'cloudevents', path: '/cloudevents-capped', upstreams: ['up'], maxSubscriptions: 2 },
      ],
    },
    { ...o, node: o.node ?? 'relay-a' },
  );
  await readyOrStop(h, () => h.linksReady([['up', 'server', S1], ['up', 'server', S2]], 'wings links ready'));
  return { ...h, sim: h.relay.simulators.get('sim') as WingsSimulator };
}

/** Relay B: upstream `a` chained to `aUrl` (relay A's /cloudevents), one listener. Not waited for. */
export function startRelayB(aUrl: string, subjects: string[], o: StartOptions): Promise<RelayHandle> {
  return startRelay(
    {
      clients: [{ name: 'b-client', key: B_KEY, grants: [{ upstream: 'a' }] }],
      upstreams: [{ name: 'a', protocol: 'cloudevents', url: aUrl, key: CHAIN_KEY, subjects }],
      listeners: [{ name: 'ce', dialect: 'cloudevents', upstreams: ['a'] }],
    },
    { ...o, node: o.node ?? 'relay-b' },
  );
}

/** The state of a relay's chain link (`upstream/_` of upstream `name`). */
export function chainState(relay: Relay, name = 'a'): string | undefined {
  return relay.supervisor.link(name, 'upstream', '_')?.state;
}
