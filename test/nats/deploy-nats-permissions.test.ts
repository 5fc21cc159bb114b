/**
 * The reference NATS of deploy/k8s/cluster/nats/ lets the relay do its work as the user it ships
 * (auth.conf, copied verbatim from the ConfigMap's source): a real nats-server with JetStream on
 * and a temporary store runs with that file, two relay processes connect as `relay` with the
 * deployment's bus settings, and ownership leases (create, renew, watch, release, takeover), event
 * publish/subscribe, `send logs` and `status` from JetStream, commands across relays and Felix interest all work
 * with no permission violation in the server's log or the relays'. The KV buckets that other
 * cluster features use are opened and written as the same user. A negative control shows that a
 * violation does show up in the server's log, and that nobody connects without a user.
 * nats.conf as a whole is checked by the nats-server binary itself (`-t`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { findNatsServer, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { ADMIN_KEY, JWT_SECRET, RelayProcess, untilLinks } from '../helpers/relay-cluster.ts';
import { FelixClient } from '../helpers/felix-client.ts';
import { S1, consoleLines, primed, startUpstreams, until, type Upstreams } from '../helpers/cluster-upstreams.ts';
import type { WingsClient } from '../helpers/wings-client.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NATS_DIR = join(ROOT, 'deploy/k8s/cluster/nats');
const config = JSON.parse(readFileSync(join(ROOT, 'deploy/k8s/base/bridge.config.json'), 'utf8')) as {
  bus: { prefix: string; user: string; password: { env: string } };
};
const PASSWORD_ENV = config.bus.password.env;
// A letter first: nats-server reads an env value that starts with digits as a number and fails to parse.
const PASSWORD = `p${randomBytes(12).toString('hex')}`;
const TTL = 2000;
const VIOLATION = /violation/i;

let dir: string;
let server: NatsServerHandle;
let up: Upstreams;
let relays: RelayProcess[] = [];
const clients: { terminate(): void }[] = [];
const connections: NatsConnection[] = [];

/** Server output and relay log lines that report a permission violation. */
function violations(): string[] {
  const fromServer = server.output().split('\n').filter((l) => VIOLATION.test(l));
  const fromRelays = relays.flatMap((r) => r.logs.map((l) => JSON.stringify(l)).filter((l) => VIOLATION.test(l)));
  return [...fromServer, ...fromRelays];
}

describe('deploy/k8s/cluster/nats: the relay works as its NATS user', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-nats-'));
    copyFileSync(join(NATS_DIR, 'auth.conf'), join(dir, 'auth.conf'));
    writeFileSync(join(dir, 'server.conf'), 'include ./auth.conf\n');
    // Read by nats-server for auth.conf's $BRIDGE_NATS_PASSWORD and by the relays' {"env"} ref,
    // exactly as both pods get it from the Secret.
    process.env[PASSWORD_ENV] = PASSWORD;
    server = await startNatsServer({ args: ['-c', join(dir, 'server.conf')] });
    up = await startUpstreams(JWT_SECRET);
    relays = await Promise.all(
      ['deploy-a', 'deploy-b'].map((id) =>
        RelayProcess.start({
          id,
          natsUrls: [server.url],
          prefix: config.bus.prefix,
          leaseTtlMs: TTL,
          replicas: 1,
          bus: { user: config.bus.user, password: { env: PASSWORD_ENV } },
          upstreams: up.upstreams,
          listeners: up.listeners,
          limits: { commandTimeoutMs: 3000 },
        }),
      ),
    );
  });

  after(async () => {
    for (const c of clients) c.terminate();
    await Promise.all(connections.map((nc) => nc.close().catch(() => {})));
    await Promise.all(relays.map((r) => r.stop()));
    await up?.close();
    await server?.stop();
    delete process.env[PASSWORD_ENV];
    rmSync(dir, { recursive: true, force: true });
  });

  test('nats.conf with auth.conf is a valid configuration for nats-server', async () => {
    const check = mkdtempSync(join(tmpdir(), 'deploy-nats-conf-'));
    try {
      for (const f of ['nats.conf', 'auth.conf']) copyFileSync(join(NATS_DIR, f), join(check, f));
      const out = await new Promise<{ code: number; text: string }>((resolve) =>
        execFile(findNatsServer(), ['-c', join(check, 'nats.conf'), '-t'], { env: { ...process.env, POD_NAME: 'nats-0' } }, (err, stdout, stderr) =>
          resolve({ code: err ? Number(err.code ?? 1) : 0, text: stdout + stderr }),
        ),
      );
      assert.equal(out.code, 0, out.text);
      assert.match(out.text, /is valid/);
    } finally {
      rmSync(check, { recursive: true, force: true });
    }
  });

  test('leases: one relay owns the link, the other stands by and names it', async () => {
    const links = await untilLinks(relays, 'up', S1, (ls) => ls.filter((l) => l?.ownership === 'owned' && l.state === 'ready').length === 1 && ls.some((l) => l?.ownership === 'standby'), 20_000, 'one owner of S1');
    const owner = relays[links.findIndex((l) => l?.ownership === 'owned')]!;
    assert.ok(links.every((l) => l!.owner === owner.id));
    await until(() => up.wings.connectionCount(S1) === 1, 5000, 'one socket');
    assert.deepEqual(violations(), []);
  });

  test('events, status and send logs (JetStream) and commands across relays work', async () => {
    const dashboards = await Promise.all(relays.map((r) => r.wings(S1)));
    clients.push(...dashboards);
    for (const d of dashboards) await d.next((f) => f.event === 'status', 10_000);
    await primed(up.wings, S1, dashboards);
    const lines = Array.from({ length: 10 }, (_, i) => `perm line ${i + 1}`);
    const from = dashboards.map((c) => c.frames.length);
    for (const line of lines) up.wings.console(S1, line);
    await until(() => dashboards.every((c, i) => consoleLines(c, 'perm line ', from[i]).length >= lines.length), 10_000, 'every line on both relays');
    dashboards.forEach((c, i) => assert.deepEqual(consoleLines(c, 'perm line ', from[i]), lines));

    const before = dashboards.map((c) => c.frames.length);
    for (const c of dashboards) c.send('send logs');
    await until(() => dashboards.every((c, i) => consoleLines(c, 'perm line 10', before[i]).length === 1), 20_000, 'send logs answered from JetStream');

    const links = await Promise.all(relays.map((r) => r.link('up', S1)));
    const standby = dashboards[links.findIndex((l) => l?.ownership === 'standby')]!;
    standby.send('send command', ['say via the owner']);
    await standby.next((f) => f.event === 'console output' && f.args?.[0] === '> say via the owner', 10_000);
    assert.deepEqual(violations(), []);
  });

  test("Felix interest from dashboards on both relays: the bot's owner sends it upstream", async () => {
    const links = await untilLinks(relays, 'felix', '_', (ls) => ls.filter((l) => l?.ownership === 'owned' && l.state === 'ready').length === 1, 20_000, 'an owner of the bot');
    const owner = links.findIndex((l) => l?.ownership === 'owned');
    const dashboards = await Promise.all(relays.map((r) => FelixClient.connect(`${r.url.replace(/^http/, 'ws')}/felix`, ADMIN_KEY)));
    clients.push(...dashboards.map((d) => ({ terminate: () => d.ws.terminate() })));
    // Each relay publishes its dashboards' interest on the bus (once cluster interest is in);
    // the owner's own dashboard's interest reaches the bot in any case.
    dashboards.forEach((d, i) => d.listen([], [i === owner ? 'guild-of-owner' : 'guild-of-standby']));
    await until(() => up.felix.listening().guilds.includes('guild-of-owner'), 10_000, "the owner's dashboard's guild upstream");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(violations(), []);
  });

  test('a drained owner releases its lease and the other relay takes the link over', async () => {
    const links = await Promise.all(relays.map((r) => r.link('up', S1)));
    const owner = relays[links.findIndex((l) => l?.ownership === 'owned')]!;
    const other = relays.find((r) => r !== owner)!;
    owner.sigterm();
    await untilLinks([other], 'up', S1, ([l]) => l?.ownership === 'owned' && l.state === 'ready', 15_000, 'takeover by the other relay');
    await owner.exited;
    up.assertNeverTwoSockets();
    assert.deepEqual(violations(), []);
  });

  test('the KV buckets of the cluster features can be made, written, read and watched as the relay user', async () => {
    const nc = await connect({ servers: server.url, user: config.bus.user, pass: PASSWORD });
    connections.push(nc);
    const js = nc.jetstream();
    for (const suffix of ['LEASES', 'INTEREST', 'TICKETS', 'NODES']) {
      const kv = await js.views.kv(`BRIDGE_${suffix}`, { history: 1, ttl: 60_000 });
      const seen: string[] = [];
      const watch = await kv.watch({ key: '>' });
      const watching = (async () => {
        for await (const e of watch) {
          seen.push(e.key);
          if (e.key === 'perm-check') break;
        }
      })();
      const rev = await kv.put('perm-check', new TextEncoder().encode('x'), { previousSeq: 0 });
      assert.equal((await kv.get('perm-check'))?.revision, rev, suffix);
      await watching;
      assert.ok(seen.includes('perm-check'), `${suffix}: watched`);
      await kv.delete('perm-check', { previousSeq: rev });
    }
    await nc.flush();
    assert.deepEqual(violations(), []);
  });

  test('control: what the user may not do is refused and logged, and nobody connects without a user', async () => {
    const nc = await connect({ servers: server.url, user: config.bus.user, pass: PASSWORD });
    connections.push(nc);
    nc.publish('elsewhere.subject', new Uint8Array());
    await nc.flush().catch(() => {});
    await until(() => server.output().split('\n').some((l) => VIOLATION.test(l) && l.includes('elsewhere.subject')), 5000, 'the server logs the violation');
    await assert.rejects(connect({ servers: server.url, reconnect: false, timeout: 2000 }), /authorization/i);
    await assert.rejects(connect({ servers: server.url, user: config.bus.user, pass: 'wrong', reconnect: false, timeout: 2000 }), /authorization/i);
  });
});
