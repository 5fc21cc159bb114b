/**
 * The CloudEvents codec and subject rules, pure: literal frames in, values out, no sockets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeClient, decodeEvent, decodeInbound, decodeServerMessage, encodeClient, encodeEvent, encodeServerMessage, errorFrame } from '../../adapters/cloudevents/codec.ts';
import { eventSubject, parseSubject, subjectMatches, unescapeToken, withUpstream } from '../../adapters/cloudevents/subject.ts';
import { makeEvent } from '../../src/events.ts';
import { Subjects, escapeToken } from '../../src/subjects.ts';

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/cloudevents/frames.json', import.meta.url), 'utf8')) as Record<string, string[]>;

describe('cloudevents codec', () => {
  test('decodeClient: exactly {op, subject}, as a fresh object', () => {
    assert.deepEqual(decodeClient('{"subject":"up.>","op":"subscribe"}'), { op: 'subscribe', subject: 'up.>' });
    assert.deepEqual(decodeClient('{"op":"unsubscribe","subject":"x"}'), { op: 'unsubscribe', subject: 'x' });
    for (const text of ['{"op":"subscribe","subject":"x","extra":true}', '{"op":"Subscribe","subject":"x"}', '{"op":"subscribe","subject":null}', '1', '{"op":"subscribe","subject":"x"']) {
      assert.equal(decodeClient(text), null, text);
    }
    // Subject shape is not the codec's business: an empty subject is answered by the session.
    assert.deepEqual(decodeClient('{"op":"subscribe","subject":""}'), { op: 'subscribe', subject: '' });
  });

  test('decodeClient: {op:"auth", key} and nothing else with it; the reply is {op:"authenticated"}', () => {
    assert.deepEqual(decodeClient('{"key":"k1","op":"auth"}'), { op: 'auth', key: 'k1' });
    for (const text of ['{"op":"auth"}', '{"op":"auth","key":1}', '{"op":"auth","key":"k","subject":"up.>"}', '{"op":"subscribe","key":"k"}']) {
      assert.equal(decodeClient(text), null, text);
    }
    assert.equal(encodeClient({ op: 'auth', key: 'k "1"' }), '{"op":"auth","key":"k \\"1\\""}');
    assert.deepEqual(decodeServerMessage('{"op":"authenticated"}'), { op: 'authenticated' });
    assert.equal(decodeServerMessage('{"op":"authenticated","subject":"x"}'), null);
    assert.equal(encodeServerMessage({ op: 'authenticated' }), '{"op":"authenticated"}');
  });

  test('client and server frames are written with a fixed key order', () => {
    assert.equal(encodeClient({ op: 'subscribe', subject: 'up.server.*.console' }), '{"op":"subscribe","subject":"up.server.*.console"}');
    assert.equal(encodeServerMessage({ op: 'subscribed', subject: 'a.>' }), '{"op":"subscribed","subject":"a.>"}');
    assert.equal(encodeServerMessage({ op: 'error', code: 'BRIDGE_ERR_FORBIDDEN', message: 'no "grant"', subject: 'a.>' }), '{"op":"error","code":"BRIDGE_ERR_FORBIDDEN","message":"no \\"grant\\"","subject":"a.>"}');
    assert.equal(errorFrame('BRIDGE_ERR_BAD_FRAME', 'bad'), '{"op":"error","code":"BRIDGE_ERR_BAD_FRAME","message":"bad"}');
    for (const frame of fixtures.server!) assert.equal(encodeServerMessage(decodeServerMessage(frame)!), frame);
    for (const frame of fixtures.client!) assert.equal(encodeClient(decodeClient(frame)!), frame);
  });

  test('decodeEvent checks the whole envelope; extension attributes are kept', () => {
    for (const frame of fixtures.events!) {
      const event = decodeEvent(frame);
      assert.ok(event, frame);
      assert.deepEqual(event, JSON.parse(frame));
    }
    const missingData = JSON.parse(fixtures.events![0]!);
    delete missingData.data;
    assert.equal(decodeEvent(JSON.stringify(missingData)), null, 'data is required (null is fine)');
    for (const frame of fixtures.malformed!) assert.equal(decodeEvent(frame), null, frame);
  });

  test('decodeInbound tells replies from events with one parse, and refuses client frames', () => {
    assert.deepEqual(decodeInbound(fixtures.server![0]!), { kind: 'reply', reply: { op: 'subscribed', subject: 'eu.server.*.console' } });
    assert.equal(decodeInbound(fixtures.events![1]!)?.kind, 'event');
    assert.equal(decodeInbound(fixtures.client![0]!), null);
    assert.equal(decodeInbound('{"op":"error","code":"BRIDGE_ERR_X","message":"m","extra":1}'), null);
  });

  test('encodeEvent is JSON.stringify of the event for every type and variant, and null rather than a throw', () => {
    const event = makeEvent({ upstream: 'eu', node: 'n', hop: 3 }, 'room.message', 'room 1', { content: 'hi', sentAt: 1 });
    for (const variant of ['', 'errors', 'x']) assert.equal(encodeEvent(event, variant), JSON.stringify(event));
    assert.equal(encodeEvent(makeEvent({ upstream: 'eu', node: 'n' }, 'server.stats', 'x', { big: 1n }), ''), null);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(encodeEvent(makeEvent({ upstream: 'eu', node: 'n' }, 'server.patch', 'x', cyclic), ''), null);
  });
});

describe('cloudevents subjects', () => {
  test('valid subjects, and what they cover', () => {
    const cases: [string, string | null, string | null][] = [
      ['up.server.abc.console', 'up', 'abc'],
      ['up.server.abc.install.output', 'up', 'abc'],
      ['up.server.*.console', 'up', null],
      ['up.*.abc.*', 'up', 'abc'],
      ['up.server.abc.>', 'up', 'abc'],
      ['up.server.>', 'up', null],
      ['up.>', 'up', null],
      ['*.server.abc.console', null, 'abc'],
      ['>', null, null],
      ['up.upstream._.state', 'up', '_'],
      ['up.room.my%20room%2E1.message', 'up', 'my room.1'],
      ['up.room.%.message', 'up', ''],
    ];
    for (const [subject, upstream, id] of cases) {
      const check = parseSubject(subject);
      assert.ok(check.ok, `${subject}: ${check.ok ? '' : check.reason}`);
      assert.deepEqual([check.parsed.upstream, check.parsed.id], [upstream, id], subject);
    }
  });

  test('invalid subjects are refused with a reason', () => {
    const bad = [
      '', 'up', 'up.server', 'up.server.abc', 'up.server..console', '.up.server.abc.console', 'up.server.abc.console.',
      'up.>.abc.console', '>.x', 'up.server.ab*.console', 'up.server.abc.con>', 'up.Server.abc.console', 'up.server.abc.Console',
      'up.server.abc.con-sole', 'u p.server.abc.console', 'up.server.a b.console', 'up.server.a\tb.console', 'up!.server.abc.console',
      'up.server.a%2eb.console', 'up.server.%41.console', 'up.server.50%.console', 'up.server.%ZZ.console',
      `up.server.abc.${Array(14).fill('x').join('.')}`, `up.server.${'a'.repeat(240)}.console`,
    ];
    for (const subject of bad) {
      const check = parseSubject(subject);
      assert.equal(check.ok, false, subject);
      if (!check.ok) assert.ok(check.reason.length > 0);
    }
    for (const notString of [undefined, null, 5, {}, ['up', '>']]) assert.equal(parseSubject(notString).ok, false);
    // The limits are inclusive: 16 tokens and 256 characters pass.
    assert.ok(parseSubject(`up.server.abc.${Array(13).fill('x').join('.')}`).ok);
    assert.ok(parseSubject(`up.server.${'a'.repeat(256 - 'up.server..console'.length)}.console`).ok);
  });

  test('the escaping rule is the bus\'s: escapeToken(id) is accepted and names that id', () => {
    for (const id of ['plain', 'a.b', 'a*b', 'a>b', '50%', 'with space', 'tab\there', 'ünïcödé', 'emoji 🎮', '', 'x%2Ey']) {
      const subject = `up.room.${escapeToken(id)}.message`;
      const check = parseSubject(subject);
      assert.ok(check.ok, subject);
      assert.equal(check.parsed.id, id);
      assert.equal(unescapeToken(escapeToken(id)), id);
    }
  });

  test('eventSubject is the bus subject without `<prefix>.evt.`; subjectMatches is NATS matching', () => {
    const subjects = new Subjects('bridge');
    const event = makeEvent({ upstream: 'eu', node: 'n' }, 'server.install.output', 'id.with *dots*', { line: 'x' });
    assert.equal(`bridge.evt.${eventSubject(event)}`, subjects.ofEvent(event));
    // NATS matching: `*` is one token, `>` one or more at the end.
    const pairs: [string, string, boolean][] = [
      ['up.server.*.console', 'up.server.x.console', true], ['up.server.*.console', 'up.server.x.install.output', false], ['up.>', 'up', false],
      ['up.>', 'up.server.x.console', true], ['>', 'a', true], ['up.*', 'up.server.x', false], ['*.server.x.console', 'eu.server.x.console', true], ['a.b', 'a.b.c', false],
    ];
    for (const [p, s, expected] of pairs) assert.equal(subjectMatches(p, s), expected, `${p} ~ ${s}`);
  });

  test('withUpstream expands an upstream wildcard', () => {
    const parse = (s: string) => {
      const c = parseSubject(s);
      assert.ok(c.ok);
      return c.parsed;
    };
    assert.equal(withUpstream(parse('*.server.x.console'), 'eu'), 'eu.server.x.console');
    assert.equal(withUpstream(parse('>'), 'eu'), 'eu.>');
  });
});
