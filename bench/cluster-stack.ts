/**
 * The `cluster` scenario: the same publisher (one Wings simulator, one running server) in front
 * of three relays, each a cluster node attached to its own node of a 3-node NATS cluster
 * (JetStream, routes, a store per node, `bus.replicas: 3` as deploy/k8s/cluster runs it). One
 * relay holds the upstream socket (its lease); the other two get every event over NATS. Clients
 * are spread evenly over the three relays.
 *
 * "The server" is the three relays: their CPU and RSS are summed, and so are the three
 * nats-servers' as the bus. On a machine with fewer cores than processes this cannot show more
 * throughput than one relay; it shows what the cluster costs per delivery.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, removeTempDir, stopStack, startGuarded, tempDir, type Child } from './procs.ts';
import { Ipc } from './procs.ts';
import { assignOwners } from '../src/cluster/balance.ts';
import { Subjects } from '../src/subjects.ts';
import { LINK_READY_LINE, SERVER_UUID } from './wire.ts';
import { NATS_SERVER, RELAY_STOP_MS, relayConfig, startRelayProcess, startWingsPublisher, wingsTarget, type Stack } from './scenarios.ts';

export const CLUSTER_NODES = 3;

/** `n` nats-servers with JetStream, clustered by routes on loopback; resolves once each says it is ready. */
async function startNatsCluster(dir: string, n: number): Promise<{ child: Child; url: string }[]> {
  const ports = await Promise.all(Array.from({ length: 2 * n }, () => freePort()));
  const routes = ports.slice(n).map((p) => `nats://127.0.0.1:${p}`);
  const nodes: { child: Child; url: string }[] = [];
  try {
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const conf = [
          `listen: "127.0.0.1:${ports[i]}"`,
          `server_name: bench-n${i + 1}`,
          `jetstream { store_dir: "${join(dir, `js-${i + 1}`)}", max_memory_store: 268435456, max_file_store: 1073741824 }`,
          `cluster { name: bench, listen: "127.0.0.1:${ports[n + i]}", routes: [${routes.map((r) => `"${r}"`).join(', ')}] }`,
        ].join('\n');
        const file = join(dir, `nats-${i + 1}.conf`);
        writeFileSync(file, `${conf}\n`);
        const child = await startGuarded(NATS_SERVER, ['-c', file], dir);
        nodes.push({ child, url: `nats://127.0.0.1:${ports[i]}` });
        await child.waitLine(/Server is ready/, 15_000);
      }),
    );
    return nodes;
  } catch (err) {
    await Promise.all(nodes.map((x) => x.child.stop(500)));
    throw err;
  }
}

export async function startClusterStack(): Promise<Stack> {
  const dir = tempDir('cluster');
  const started: Child[] = [];
  try {
    const { simUrl, publisher } = await startWingsPublisher(started);
    const nats = await startNatsCluster(dir, CLUSTER_NODES);
    started.push(...nats.map((x) => x.child));
    const relays = nats.map((node, i) => {
      const file = join(dir, `bridge-${i + 1}.config.json`);
      // Each relay knows only its own NATS node, so the three are spread over the cluster.
      const bus = { kind: 'nats', prefix: 'bench', servers: [node.url], replicas: CLUSTER_NODES };
      writeFileSync(file, JSON.stringify(relayConfig(simUrl, bus, { node: { id: `bench-${i + 1}` } }), null, 2));
      const child = startRelayProcess(file);
      started.push(child);
      return child;
    });
    const ipcs = relays.map((r) => new Ipc(r));
    // Only the lease holder opens the link; the JetStream cluster elects its leaders first. The
    // first holder may not be the link's preferred node (src/cluster/balance.ts), and then hands
    // the link over once it held it for H (2 × the lease TTL): the socket closes and the lines the
    // upstream sends until the preferred node has connected are lost, as with any Wings
    // reconnect. So the run starts once the preferred node holds the link, not mid-way.
    const key = new Subjects('bench').leaseKey('sim', 'server', SERVER_UUID);
    const preferred = assignOwners([key], relays.map((_, i) => `bench-${i + 1}`)).get(key)!;
    const linkReady = relays[Number(preferred.slice('bench-'.length)) - 1]!.waitLine(LINK_READY_LINE, 90_000);
    linkReady.catch(() => undefined);
    const urls = await Promise.all(relays.map(async (r) => (JSON.parse(await r.waitLine(/"msg":"relay listening"/, 30_000)) as { url: string }).url));
    const pub = await publisher();
    await linkReady.catch((err: Error) => {
      throw new Error(`the link did not become ready on its preferred node ${preferred}: ${err.message}`);
    });
    const targets = await Promise.all(urls.map((u) => wingsTarget(u)));
    return {
      name: 'cluster',
      serverPids: relays.map((r) => r.pid),
      busPids: nats.map((x) => x.child.pid),
      async memory(gc) {
        const each = await Promise.all(ipcs.map((ipc) => ipc.call<NodeJS.MemoryUsage & { youngBytes: number }>('__memory', { gc })));
        const sum = (k: keyof (NodeJS.MemoryUsage & { youngBytes: number })) => each.reduce((a, m) => a + m[k], 0);
        return { rss: sum('rss'), heapTotal: sum('heapTotal'), heapUsed: sum('heapUsed'), external: sum('external'), arrayBuffers: sum('arrayBuffers'), youngBytes: sum('youngBytes') };
      },
      pub: pub.ipc,
      pubPid: pub.child.pid,
      targets,
      logTail: () => relays.map((r, i) => `--- relay bench-${i + 1}\n${r.tail()}`).join('\n'),
      stop: () => stopStack(started, dir, RELAY_STOP_MS),
    };
  } catch (err) {
    await stopStack(started, dir, 500);
    throw err;
  }
}
