/**
 * A JetStream cluster of real nats-server processes on loopback, for tests of the relay on a
 * cluster: each node has its own client port, cluster port, store and `server_name`; they share a
 * cluster name and route to each other. Command-line flags suffice on nats-server 2.9.
 */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { freePorts, jetStreamAnswers, startNatsServer, until, type NatsServerHandle } from './nats-server.ts';

export interface NatsCluster {
  readonly servers: NatsServerHandle[];
  /** Every node's client URL, in node order. */
  readonly urls: string[];
  /** Resolves once every running node answers JetStream API requests (a meta leader exists). */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the stores. Idempotent. */
  stop(): Promise<void>;
}

/** Starts `n` clustered servers with JetStream; resolves once the cluster has a JetStream meta leader. */
export async function startNatsCluster(n = 3, o: { readyTimeoutMs?: number; args?: string[] } = {}): Promise<NatsCluster> {
  const ports = await freePorts(2 * n);
  const clientPorts = ports.slice(0, n);
  const routePorts = ports.slice(n);
  const clusterName = `tc-${randomBytes(3).toString('hex')}`;
  const routeUrl = (p: number) => `nats://127.0.0.1:${p}`;
  const servers: NatsServerHandle[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    // In parallel: a clustered node waits for its peers before JetStream can elect a meta leader.
    const started = await Promise.allSettled(
      clientPorts.map((port, i) =>
        startNatsServer({
          port,
          readyTimeoutMs: o.readyTimeoutMs ?? 15_000,
          args: [
            '--cluster_name', clusterName,
            '--cluster', routeUrl(routePorts[i]!),
            '--routes', routePorts.filter((_, j) => j !== i).map(routeUrl).join(','),
            ...(o.args ?? []),
          ],
        }),
      ),
    );
    for (const r of started) if (r.status === 'fulfilled') servers.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await stop();
    throw err;
  }
  const cluster: NatsCluster = {
    servers,
    urls: servers.map((s) => s.url),
    async ready(timeoutMs = o.readyTimeoutMs ?? 15_000) {
      const running = servers.filter((s) => s.running);
      await until(
        async () => (await Promise.all(running.map((s) => jetStreamAnswers(s.url)))).every(Boolean),
        timeoutMs,
        () => `nats cluster ${clusterName}: JetStream did not answer on every node within ${timeoutMs} ms:\n${running.map((s) => `--- ${s.name}\n${s.output()}`).join('\n')}`,
      );
    },
    stop,
  };
  await cluster.ready().catch(async (err) => Promise.reject(await stop().then(() => err)));
  return cluster;
}

/**
 * One cluster for the calling test file: started in a `before`, stopped in an `after` registered
 * here. `args` go to every node (e.g. `--no_advertise`, so that a client given one URL knows no other).
 */
export function useNatsCluster(n = 3, o: { args?: string[] } = {}): { readonly cluster: NatsCluster } {
  let cluster: NatsCluster | undefined;
  before(async () => {
    cluster = await startNatsCluster(n, o);
  });
  after(() => cluster?.stop());
  return {
    get cluster() {
      if (!cluster) throw new Error('useNatsCluster: read before the before hook started the cluster');
      return cluster;
    },
  };
}
