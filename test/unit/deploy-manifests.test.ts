/**
 * deploy/k8s/cluster/ agrees with itself and with the relay: the relay's probes, port and drain
 * timing match its config; its config validates against the relay's schema with exactly the
 * environment the Deployment provides; the autoscaler and the disruption budget select the relay;
 * the NATS StatefulSet's routes, server names, store and ports match nats.conf; the relay's NATS
 * URLs name every NATS pod; and auth.conf lets the relay's user use every subject, stream and KV
 * bucket the relay uses. (test/nats/deploy-nats-permissions.test.ts runs a relay against auth.conf.)
 * The manifests are read with test/helpers/yaml-subset.ts, which refuses what it cannot read.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Subjects } from '../../src/subjects.ts';
import { streamNames } from '../../src/bus/nats-retention.ts';
import { leaseBucketName } from '../../src/cluster/nats-kv.ts';
import { parseAllDocuments, parse as parseYamlText } from 'yaml';

type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };
/** One document, strictly: a syntax error or a second document throws. */
const parseYaml = (text: string): YamlValue => parseYamlText(text, { strict: true, uniqueKeys: true }) as YamlValue;
const parseYamlDocuments = (text: string): YamlValue[] =>
  parseAllDocuments(text, { strict: true, uniqueKeys: true }).map((d) => {
    if (d.errors.length) throw d.errors[0];
    return d.toJS() as YamlValue;
  });
import { natsConfList, natsConfValue, parseNatsConf, relayPermissions } from '../helpers/nats-conf.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S = join(ROOT, 'deploy/k8s');
const CLUSTER = join(K8S, 'cluster');

// The manifests are plain data; `any` keeps the many field reads below short.
type Doc = any;

const yaml = (file: string): Doc => parseYaml(readFileSync(file, 'utf8'));
const byKind = (dir: string, kind: string): Doc => {
  const found = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => yaml(join(dir, f))).filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind} in ${dir}`);
  return found[0];
};

const config = JSON.parse(readFileSync(join(K8S, 'base/bridge.config.json'), 'utf8')) as Doc;
const deployment = byKind(CLUSTER, 'Deployment');
const relay = deployment.spec.template.spec.containers.find((c: Doc) => c.name === 'relay');
const statefulSet = byKind(join(CLUSTER, 'nats'), 'StatefulSet');
const nats = statefulSet.spec.template.spec.containers.find((c: Doc) => c.name === 'nats');
const natsConf = readFileSync(join(CLUSTER, 'nats/nats.conf'), 'utf8');
const authConf = readFileSync(join(CLUSTER, 'nats/auth.conf'), 'utf8');

/** Kubernetes' own rule: a named port is looked up in the container's ports. */
function portNumber(container: Doc, port: number | string): number {
  if (typeof port === 'number') return port;
  const p = container.ports.find((x: Doc) => x.name === port);
  assert.ok(p, `container ${container.name} has a port named ${port}`);
  return p.containerPort;
}

function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

test('every manifest under deploy/k8s parses, and every kustomization names files that exist', () => {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
  const files = walk(K8S).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 15, `found ${files.length} manifests`);
  for (const f of files) assert.ok(parseYamlDocuments(readFileSync(f, 'utf8')).length >= 1, f);
  for (const k of files.filter((f) => f.endsWith('kustomization.yaml'))) {
    const doc: Doc = yaml(k);
    const dir = dirname(k);
    for (const r of [...(doc.resources ?? []), ...(doc.components ?? [])]) {
      const path = join(dir, r);
      assert.ok(existsSync(path) && (statSync(path).isFile() || existsSync(join(path, 'kustomization.yaml'))), `${k}: ${r}`);
    }
    for (const g of doc.configMapGenerator ?? []) for (const f of g.files ?? []) assert.ok(existsSync(join(dir, f)), `${k}: ${f}`);
    for (const p of doc.patches ?? []) assert.ok(existsSync(join(dir, p.path)), `${k}: ${p.path}`);
  }
  assert.ok((yaml(join(CLUSTER, 'kustomization.yaml')).resources as string[]).includes('nats'), 'the cluster overlay brings the reference NATS');
});

describe('the relay Deployment', () => {
  test('listens where its probes, the Service and the scrape annotation look, with readiness on /readyz and liveness on /healthz', () => {
    const port = config.http.port as number;
    assert.equal(config.http.host, '0.0.0.0', 'the kubelet probes the pod IP');
    assert.equal(portNumber(relay, 'http'), port);
    assert.equal(relay.readinessProbe.httpGet.path, '/readyz');
    assert.equal(relay.livenessProbe.httpGet.path, '/healthz');
    assert.equal(relay.startupProbe.httpGet.path, '/healthz');
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) assert.equal(portNumber(relay, relay[probe].httpGet.port), port, probe);
    assert.equal(Number(deployment.spec.template.metadata.annotations['prometheus.io/port']), port);
    const service = yaml(join(K8S, 'base/service.yaml'));
    assert.equal(portNumber(relay, service.spec.ports[0].targetPort), port);
    assert.ok(labelsMatch(service.spec.selector, deployment.spec.template.metadata.labels), 'the Service selects the relay pods');
  });

  test('preStop + http.shutdownGraceMs fit in terminationGracePeriodSeconds, with margin', () => {
    const command = relay.lifecycle.preStop.exec.command as string[];
    assert.equal(command[0], 'sleep');
    const preStopS = Number(command[1]);
    assert.ok(preStopS >= 2 && preStopS <= 15, `preStop sleeps ${preStopS} s: long enough for endpoint removal to spread, short enough to drain after`);
    const graceS = config.http.shutdownGraceMs / 1000;
    const period = deployment.spec.template.spec.terminationGracePeriodSeconds as number;
    // The kubelet counts the period from the start of preStop; the relay has exited by grace.
    assert.ok(preStopS + graceS + 5 <= period, `${preStopS} s preStop + ${graceS} s grace + 5 s margin ≤ ${period} s`);
  });

  test('the config validates against the relay schema with exactly the environment the Deployment provides', () => {
    const env: Record<string, string> = {};
    for (const e of relay.env as Doc[]) {
      assert.ok(e.valueFrom?.secretKeyRef?.name === 'protocol-bridge-secrets', `${e.name} comes from the Secret`);
      env[e.name] = `dummy-${e.name}`;
    }
    const frozen = validateConfig(config, ADAPTERS, 'deploy/k8s/base/bridge.config.json', { env });
    assert.equal(frozen.bus.kind, 'nats');
    assert.equal(config.node?.id, undefined, 'node.id is left to the host name (the pod name), unique per replica');
    assert.equal(frozen.bus.password, env.BRIDGE_NATS_PASSWORD);
    // Every variable the Deployment sets is used by the config (no stale secret wiring).
    const text = JSON.stringify(config);
    for (const name of Object.keys(env)) assert.ok(text.includes(`{"env":"${name}"}`), `${name} is referenced by the config`);
  });

  test('the disruption budget and the autoscaler act on the relay pods and agree with the replica count', () => {
    const labels = deployment.spec.template.metadata.labels;
    assert.ok(labelsMatch(deployment.spec.selector.matchLabels, labels));
    const pdb = byKind(CLUSTER, 'PodDisruptionBudget');
    assert.ok(labelsMatch(pdb.spec.selector.matchLabels, labels), 'the PDB selects the relay pods');
    assert.equal(pdb.spec.maxUnavailable, 1);
    const hpa = byKind(CLUSTER, 'HorizontalPodAutoscaler');
    assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', deployment.metadata.name]);
    assert.ok(hpa.spec.minReplicas <= deployment.spec.replicas && deployment.spec.replicas <= hpa.spec.maxReplicas);
    assert.ok(hpa.spec.minReplicas > pdb.spec.maxUnavailable, 'a disruption never takes every replica');
    if (hpa.spec.metrics.some((m: Doc) => m.resource?.name === 'cpu')) assert.ok(relay.resources.requests.cpu, 'CPU utilisation needs a CPU request');
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
  });
});

describe('the reference NATS', () => {
  const replicas = statefulSet.spec.replicas as number;
  const service = byKind(join(CLUSTER, 'nats'), 'Service');
  const pod = (i: number) => `${statefulSet.metadata.name}-${i}.${statefulSet.spec.serviceName}`;

  test('three JetStream nodes, each with its own server_name, routed to every node, store on its own volume', () => {
    assert.equal(replicas, 3);
    assert.equal(statefulSet.spec.podManagementPolicy, 'Parallel', 'a JetStream cluster elects its first leader only with a quorum up');
    assert.equal(service.metadata.name, statefulSet.spec.serviceName);
    assert.equal(service.spec.clusterIP, 'None');
    assert.equal(service.spec.publishNotReadyAddresses, true);
    assert.ok(labelsMatch(service.spec.selector, statefulSet.spec.template.metadata.labels));
    assert.equal(natsConfValue(natsConf, 'server_name'), '$POD_NAME');
    const podName = nats.env.find((e: Doc) => e.name === 'POD_NAME');
    assert.equal(podName.valueFrom.fieldRef.fieldPath, 'metadata.name');
    const clusterPort = portNumber(nats, 'cluster');
    assert.deepEqual(natsConfList(natsConf, 'routes'), Array.from({ length: replicas }, (_, i) => `nats://${pod(i)}:${clusterPort}`));
    assert.equal(natsConfValue(natsConf, 'listen'), `0.0.0.0:${portNumber(nats, 'client')}`);
    assert.equal(natsConfValue(natsConf, 'http'), `0.0.0.0:${portNumber(nats, 'monitor')}`);
    const store = natsConfValue(natsConf, 'store_dir');
    const mount = nats.volumeMounts.find((m: Doc) => m.mountPath === store);
    assert.ok(mount, `store_dir ${store} is a mounted volume`);
    assert.ok(statefulSet.spec.volumeClaimTemplates.some((v: Doc) => v.metadata.name === mount.name), 'the store is a PersistentVolumeClaim per pod');
    const pidFile = natsConfValue(natsConf, 'pid_file');
    assert.ok(nats.lifecycle.preStop.exec.command.join(' ').includes(`ldm=${pidFile}`), 'preStop puts this node in lame duck mode');
    assert.ok(nats.volumeMounts.some((m: Doc) => pidFile.startsWith(`${m.mountPath}/`)), 'the pid file is on a writable volume');
    assert.ok(nats.securityContext.readOnlyRootFilesystem);
    const pdb = byKind(join(CLUSTER, 'nats'), 'PodDisruptionBudget');
    assert.ok(labelsMatch(pdb.spec.selector.matchLabels, statefulSet.spec.template.metadata.labels));
    assert.equal(pdb.spec.maxUnavailable, 1, 'a JetStream R3 quorum survives');
  });

  test('the relays are given every NATS node, R3 streams, the relay user and the password the NATS pods check', () => {
    const clientPort = portNumber(nats, 'client');
    assert.deepEqual(config.bus.servers, Array.from({ length: replicas }, (_, i) => `nats://${pod(i)}:${clientPort}`));
    assert.equal(config.bus.replicas, 3);
    const perms = relayPermissions(authConf, config.bus.user);
    assert.ok(perms, `auth.conf has the user ${config.bus.user}`);
    assert.equal(perms.password, `$${config.bus.password.env}`);
    const relaySecret = relay.env.find((e: Doc) => e.name === config.bus.password.env).valueFrom.secretKeyRef;
    const natsSecret = nats.env.find((e: Doc) => e.name === config.bus.password.env).valueFrom.secretKeyRef;
    assert.deepEqual(natsSecret, relaySecret, 'both read the same Secret key');
  });

  test("auth.conf allows the relay's subjects, streams and KV buckets, and nothing outside its prefix but replies and JetStream", () => {
    const perms = relayPermissions(authConf, config.bus.user)!;
    const s = new Subjects(config.bus.prefix);
    const kv = (bucket: string) => `$KV.${bucket}.>`;
    const upper = leaseBucketName(config.bus.prefix).replace(/_LEASES$/, '');
    const buckets = [leaseBucketName(config.bus.prefix), `${upper}_INTEREST`, `${upper}_TICKETS`, `${upper}_NODES`];
    const publish = [s.allEvents(), `${s.prefix}.cmd.>`, '_INBOX.>', '$JS.API.>', '$JS.FC.>', ...buckets.map(kv)];
    const subscribe = [s.allEvents(), `${s.prefix}.cmd.>`, '_INBOX.>'];
    assert.deepEqual([...perms.publish].sort(), [...publish].sort());
    assert.deepEqual([...perms.subscribe].sort(), [...subscribe].sort());
    // The streams are reached through $JS.API.>; their names start like the buckets'.
    for (const stream of Object.values(streamNames(config.bus.prefix))) assert.ok(stream.startsWith(`${upper}_`), stream);
    const conf = parseNatsConf(authConf);
    const account = (conf.accounts as Record<string, Record<string, unknown>>)[perms.account]!;
    assert.equal(account.jetstream, 'enabled');
    assert.equal(conf.no_auth_user, undefined, 'nobody connects without a user');
  });
});
