/**
 * Issue 10 item 1: real Wings compares a token's `exp` with the clock on every inbound message and
 * before every outbound event, in whole seconds (`TokenValid()` in HandleInbound and SendJson; its
 * JWT library truncates the time to seconds, so a token works until exp + 1 s). The relay looked
 * only at its 30 s token tick, so a command 1.5 s after `exp` still ran and events kept flowing
 * until the next tick. Run on the memory bus and on a real nats-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { peekJwt } from '../../src/auth/jwt.ts';
import { useNatsServer } from '../helpers/nats-server.ts';
import { S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient } from '../helpers/wings-client.ts';

const EXPIRED = 'jwt: exp claim is invalid';
const nats = useNatsServer();

for (const bus of ['memory', 'nats'] as const) {
  describe(`regression: Wings token expiry on every message, both ways (${bus} bus)`, () => {
    let h: Harness;
    let clock: ManualClock;
    before(async () => {
      clock = new ManualClock();
      // 45 s tokens checked every 30 s: the tick sees 15 s left at +30 s and the expiry only at +60 s.
      h = await startHarness({ bus, natsUrl: bus === 'nats' ? nats.url : undefined, clock, listener: { tokenTtlSeconds: 45, tokenCheckIntervalMs: 30_000 } });
      await linksReady(h);
    });
    after(() => h.stop());

    test('a token works until exp + 1 s; then events and commands get the exp jwt error at once', async () => {
      const { body } = await h.token(S1);
      const token = body.data.token as string;
      const exp = peekJwt(token)!.exp as number;
      const c = await WingsClient.connect(body.data.socket);
      try {
        c.send('auth', [token]);
        await c.event('auth success');
        await c.event('status');

        // exp + 0.5 s: still inside the second Wings accepts.
        await clock.advance(exp * 1000 + 500 - clock.now());
        h.sim.console(S1, 'in the last second');
        assert.deepEqual((await c.event('console output')).args, ['in the last second']);
        c.send('auth', [token]);
        await c.event('auth success');

        // exp + 1.5 s: expired, long before the next token tick.
        await clock.advance(1000);
        const before = h.sim.received.filter((f) => f.event === 'send command').length;
        c.send('send command', ['say too late']);
        const reply = await c.next((f) => f.event !== 'token expiring');
        assert.deepEqual([reply.event, reply.args], ['jwt error', [EXPIRED]], 'the command is answered with the exp jwt error');
        h.sim.console(S1, 'after expiry');
        const replaced = await c.next((f) => f.event !== 'token expiring');
        assert.deepEqual([replaced.event, replaced.args], ['jwt error', [EXPIRED]], 'the event is replaced by the exp jwt error');
        // A frame through the relay and back proves the command had its chance to reach the upstream.
        c.send('send stats');
        await c.event('jwt error');
        assert.equal(h.sim.received.filter((f) => f.event === 'send command').length, before, 'the command never reached the upstream');
        assert.equal(c.unread().filter((f) => f.event === 'console output').length, 0);
      } finally {
        c.close();
      }
    });
  });
}
