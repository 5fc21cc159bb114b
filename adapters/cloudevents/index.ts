/**
 * The CloudEvents adapter: the relay's own dialect for new clients, where the wire event IS the
 * BridgeEvent (CloudEvents 1.0, structured JSON). Downstream, any client with an API key
 * subscribes to bus subjects its grants cover; upstream, a relay consumes another relay's (or any
 * producer's) CloudEvents socket and republishes it: relay chaining. Config specs are declared
 * here; the config loader merges them with the shared keys.
 * The simulator lives in simulator.ts; src/registry.ts joins it to these roles.
 */
import { SecretSchema, Type, requiredUnlessSimulator, type ProtocolRoles } from '../../src/adapter-kit.ts';
import { encodeEvent } from './codec.ts';
import { createCloudEventsListener } from './downstream.ts';
import { parseSubject } from './subject.ts';
import { createCloudEventsUpstream } from './upstream.ts';
import { DEFAULT_PATH, SUBJECT_LIMITS } from './vocabulary.ts';

export const CloudEventsUpstreamOptions = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^wss?://', description: 'WebSocket URL of a cloudevents listener, e.g. ws://relay-a:8080/cloudevents (required unless `simulator`).' })),
    key: Type.Optional(SecretSchema),
    subjects: Type.Array(Type.String({ minLength: 1, maxLength: SUBJECT_LIMITS.maxLength }), {
      minItems: 1,
      default: ['>'],
      description: 'Subjects to subscribe to on the far side, in bus form relative to `<prefix>.evt.` (`<upstream>.<resource>.<id>.<event…>`, wildcards `*` and `>`).',
    }),
    subscribeTimeoutMs: Type.Integer({ minimum: 100, default: 10000, description: 'How long to wait for the first `subscribed` reply before reconnecting.' }),
  },
  { additionalProperties: false },
);

export const CloudEventsListenerOptions = Type.Object(
  {
    maxSubscriptions: Type.Integer({ minimum: 1, maximum: 10000, default: 100, description: 'Subjects one session may hold at once.' }),
    pingIntervalMs: Type.Integer({ minimum: 1, default: 30000, description: 'WebSocket ping period; a client that has not answered by the next ping is terminated.' }),
  },
  { additionalProperties: false },
);

export const cloudeventsAdapter: ProtocolRoles<typeof CloudEventsUpstreamOptions, typeof CloudEventsListenerOptions> = {
  protocol: 'cloudevents',
  upstreamOptions: CloudEventsUpstreamOptions,
  listenerOptions: CloudEventsListenerOptions,
  defaultPath: DEFAULT_PATH,
  check(kind, config) {
    if (kind !== 'upstream') return [];
    const issues = requiredUnlessSimulator(config, ['url', 'key']);
    // The schema checks the list's shape; a subject the far side would refuse is caught here, at boot.
    const subjects = Array.isArray(config.subjects) ? config.subjects : [];
    subjects.forEach((subject, i) => {
      const check = parseSubject(subject);
      if (!check.ok) issues.push([`/subjects/${i}`, `invalid subject: ${check.reason}`]);
    });
    return issues;
  },
  encode: encodeEvent,
  createUpstream: (ctx) => createCloudEventsUpstream(ctx),
  createListener: (ctx) => createCloudEventsListener(ctx),
};
