/**
 * The cluster helper itself, so the cluster tests can trust it: three nats-server processes routed
 * together carry core messages between nodes and hold a JetStream KV bucket replicated on all three.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, StringCodec } from 'nats';
import { useNatsCluster } from '../helpers/nats-cluster.ts';

const sc = StringCodec();

describe('nats cluster helper', () => {
  const file = useNatsCluster(3);

  test('three nodes, each with its own port, store and name', () => {
    const { servers, urls } = file.cluster;
    assert.equal(servers.length, 3);
    assert.equal(new Set(urls).size, 3);
    assert.equal(new Set(servers.map((s) => s.storeDir)).size, 3);
    assert.equal(new Set(servers.map((s) => s.name)).size, 3);
    assert.ok(servers.every((s) => s.running && s.pid !== undefined));
  });

  test('a message published on node 1 is received on node 3', async () => {
    const [url1, , url3] = file.cluster.urls;
    const pub = await connect({ servers: url1! });
    const sub = await connect({ servers: url3! });
    try {
      const got = sub.subscribe('cluster.helper.ping', { max: 1 });
      await sub.flush();
      // Route interest propagates asynchronously: publish until node 3's subscriber sees one.
      const received = (async () => {
        for await (const m of got) return sc.decode(m.data);
        return undefined;
      })();
      const timer = setInterval(() => pub.publish('cluster.helper.ping', sc.encode('from node 1')), 50);
      try {
        assert.equal(await received, 'from node 1');
      } finally {
        clearInterval(timer);
      }
    } finally {
      await pub.close();
      await sub.close();
    }
  });

  test('a KV bucket with 3 replicas is created on node 1 and read on node 3', async () => {
    const [url1, , url3] = file.cluster.urls;
    const a = await connect({ servers: url1! });
    const b = await connect({ servers: url3! });
    try {
      const kv = await a.jetstream().views.kv('helper_r3', { replicas: 3 });
      const st = await kv.status();
      assert.equal(st.replicas, 3);
      await kv.put('lease', sc.encode('node-1'));
      const entry = await (await b.jetstream().views.kv('helper_r3')).get('lease');
      assert.equal(entry && sc.decode(entry.value), 'node-1');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
