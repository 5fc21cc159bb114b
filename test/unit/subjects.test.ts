/**
 * src/subjects.ts (DESIGN §4): token escaping, subject shapes, parsing, wildcard matching, and the
 * isolation property the escaping exists for (no id can reach another resource's subject).
 * Randomised checks use a seeded generator, so a failure reproduces with the printed input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent } from '../../src/events.ts';
import { Subjects, escapeToken, retainedTails, retentionOf, subjectMatches, unescapeToken } from '../../src/subjects.ts';
import { seeded } from '../helpers/random.ts';


/** Pieces chosen to hit every escaping rule: separators, wildcards, `%`, whitespace, controls, unicode. */
const PIECES = [
  '.', '*', '>', '%', ' ', '\t', '\n', '\r', '\v', '\f',
  '\u0000', '\u0001', '\u001b', '\u001f', '\u007f',
  '\u00a0', '\u2028', '\u2029', '\u3000', '\ufeff',
  'é', 'ß', '中文', '😀', '\ud800', '\udfff',
  '%2E', '%25', '%%', '%2', '%zz', '..', '.>', '*.', '>.*',
  'a', 'b', 'z', 'A', 'Z', '0', '9', '-', '_', 'server', 'console', '8a4b-11', '=', '/', ':', '+', '~',
];

function randomString(rand: () => number, maxPieces = 10): string {
  const n = Math.floor(rand() * (maxPieces + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)];
  return s;
}

function randomStrings(seed: number, count: number): string[] {
  const rand = seeded(seed);
  const out = ['', '%', '.', '*', '>', ' ', '\u0000', '%25', 'a.b', 'a%2Eb', '>', '*.console'];
  while (out.length < count) out.push(randomString(rand));
  return out;
}

const show = (s: string) => JSON.stringify(s);

describe('escapeToken / unescapeToken', () => {
  test('round trip for many arbitrary strings (seeded)', () => {
    for (const raw of randomStrings(0xc0ffee, 5000)) {
      const token = escapeToken(raw);
      assert.equal(unescapeToken(token), raw, `round trip of ${show(raw)} via ${show(token)}`);
    }
  });

  test('escaped tokens never contain . * > whitespace or C0 controls, and are never empty', () => {
    for (const raw of randomStrings(42, 5000)) {
      const token = escapeToken(raw);
      assert.ok(token.length > 0, `empty token for ${show(raw)}`);
      assert.doesNotMatch(token, /[.*>]/, `wildcard or separator in ${show(token)} (from ${show(raw)})`);
      assert.doesNotMatch(token, /\s/u, `whitespace in ${show(token)} (from ${show(raw)})`);
      assert.doesNotMatch(token, /[\u0000-\u001f\u007f]/, `control character in ${show(token)} (from ${show(raw)})`);
      // `%` only appears as an escape (%XX, upper-case hex) or as the whole token for ''.
      if (token !== '%') assert.doesNotMatch(token, /%(?![0-9A-F]{2})/, `stray % in ${show(token)}`);
    }
  });

  test('specific encodings', () => {
    assert.equal(escapeToken(''), '%');
    assert.equal(escapeToken('%'), '%25');
    assert.equal(escapeToken('a.b'), 'a%2Eb');
    assert.equal(escapeToken('*'), '%2A');
    assert.equal(escapeToken('>'), '%3E');
    assert.equal(escapeToken('a b\tc\n'), 'a%20b%09c%0A');
    assert.equal(escapeToken('\u0000\u007f'), '%00%7F');
    assert.equal(escapeToken('\u00a0'), '%C2%A0', 'unicode whitespace is escaped as its UTF-8 bytes');
    assert.equal(escapeToken('8a4b-11_Z'), '8a4b-11_Z', 'safe tokens pass unchanged');
    assert.equal(escapeToken('中文😀'), '中文😀', 'non-whitespace unicode passes unchanged');
    assert.equal(unescapeToken('%'), '');
    assert.equal(unescapeToken('plain'), 'plain');
  });

  test('distinct inputs give distinct tokens', () => {
    const byToken = new Map<string, string>();
    for (const raw of new Set(randomStrings(7, 8000))) {
      const token = escapeToken(raw);
      const prior = byToken.get(token);
      assert.ok(prior === undefined, `${show(raw)} and ${show(prior ?? '')} both escape to ${show(token)}`);
      byToken.set(token, raw);
    }
    // The pairs most likely to collide if `%` itself were not escaped.
    assert.notEqual(escapeToken(''), escapeToken('%'));
    assert.notEqual(escapeToken('a.b'), escapeToken('a%2Eb'));
    assert.notEqual(escapeToken('%25'), escapeToken('%'));
  });
});

describe('Subjects shapes', () => {
  const s = new Subjects();

  test('default prefix is bridge', () => {
    assert.equal(s.prefix, 'bridge');
  });

  test('event subjects: <prefix>.evt.<upstream>.<resource>.<id>.<event…>', () => {
    assert.equal(s.event('eu', 'server.console', '8a4b'), 'bridge.evt.eu.server.8a4b.console');
    assert.equal(s.event('eu', 'server.install.output', '8a4b'), 'bridge.evt.eu.server.8a4b.install.output');
    assert.equal(s.event('eu', 'upstream.state', '_'), 'bridge.evt.eu.upstream._.state');
    assert.equal(s.event('eu', 'server.console', 'a.b*>'), 'bridge.evt.eu.server.a%2Eb%2A%3E.console');
    assert.equal(s.event('e u', 'room.message', ''), 'bridge.evt.e%20u.room.%.message');
  });

  test('patterns: resourceEvents, typeAcross, upstreamEvents, allEvents', () => {
    assert.equal(s.resourceEvents('eu', 'server', '8a4b'), 'bridge.evt.eu.server.8a4b.>');
    assert.equal(s.resourceEvents('eu', 'server', 'x.>'), 'bridge.evt.eu.server.x%2E%3E.>');
    assert.equal(s.typeAcross('eu', 'server.console'), 'bridge.evt.eu.server.*.console');
    assert.equal(s.typeAcross('eu', 'server.install.output'), 'bridge.evt.eu.server.*.install.output');
    assert.equal(s.upstreamEvents('eu'), 'bridge.evt.eu.>');
    assert.equal(s.allEvents(), 'bridge.evt.>');
  });

  test('command subjects', () => {
    assert.equal(s.command('eu', 'server', '8a4b'), 'bridge.cmd.eu.server.8a4b');
    assert.equal(s.command('eu', 'server', 'a.b'), 'bridge.cmd.eu.server.a%2Eb');
    assert.equal(s.upstreamCommands('eu'), 'bridge.cmd.eu.>');
  });

  test('a custom prefix (also dotted) is used everywhere', () => {
    const p = new Subjects('acme');
    assert.equal(p.event('eu', 'server.console', 'x'), 'acme.evt.eu.server.x.console');
    assert.equal(p.command('eu', 'server', 'x'), 'acme.cmd.eu.server.x');
    const d = new Subjects('acme.prod');
    assert.equal(d.event('eu', 'server.console', 'x'), 'acme.prod.evt.eu.server.x.console');
    assert.deepEqual(d.parseEvent('acme.prod.evt.eu.server.x.console'), { upstream: 'eu', resource: 'server', id: 'x', event: 'console' });
    assert.equal(d.parseEvent('bridge.evt.eu.server.x.console'), null);
  });

  test('invalid prefixes throw', () => {
    for (const bad of ['', '.', 'a.', '.a', 'a..b', 'a*', 'a.>', '>', 'a b', 'a\n', 'brü']) {
      assert.throws(() => new Subjects(bad), /invalid subject prefix/, `prefix ${show(bad)}`);
    }
    assert.doesNotThrow(() => new Subjects('a_b-c.D9'));
  });

  test('ofEvent publishes a BridgeEvent on its event subject', () => {
    const e = makeEvent({ upstream: 'eu', node: 'n1' }, 'server.install.output', 'id.with.dots', { line: 'x' });
    assert.equal(s.ofEvent(e), s.event('eu', 'server.install.output', 'id.with.dots'));
    assert.equal(s.ofEvent(e), 'bridge.evt.eu.server.id%2Ewith%2Edots.install.output');
  });
});

describe('Subjects parsing', () => {
  const s = new Subjects();
  const TYPES = ['server.console', 'server.install.output', 'server.backup.completed', 'upstream.state', 'room.participant.joined'];

  test('parseEvent reverses event() for random upstreams and ids', () => {
    const rand = seeded(99);
    for (let i = 0; i < 2000; i++) {
      const upstream = randomString(rand, 4);
      const id = randomString(rand);
      const type = TYPES[i % TYPES.length]!;
      const dot = type.indexOf('.');
      const subject = s.event(upstream, type, id);
      assert.deepEqual(
        s.parseEvent(subject),
        { upstream, resource: type.slice(0, dot), id, event: type.slice(dot + 1) },
        `parse of ${show(subject)}`,
      );
    }
  });

  test('parseCommand reverses command() for random upstreams and ids', () => {
    const rand = seeded(1234);
    for (let i = 0; i < 2000; i++) {
      const upstream = randomString(rand, 4);
      const id = randomString(rand);
      const subject = s.command(upstream, 'server', id);
      assert.deepEqual(s.parseCommand(subject), { upstream, resource: 'server', id }, `parse of ${show(subject)}`);
    }
  });

  test('parse returns null for subjects that are not of the kind', () => {
    assert.equal(s.parseEvent('other.evt.eu.server.x.console'), null);
    assert.equal(s.parseEvent('bridge.cmd.eu.server.x'), null);
    assert.equal(s.parseEvent('bridge.evt.eu.server.x'), null, 'no event token');
    assert.equal(s.parseEvent('bridge.evt'), null);
    assert.equal(s.parseEvent('bridgeX.evt.eu.server.x.console'), null);
    assert.equal(s.parseCommand('bridge.evt.eu.server.x.console'), null);
    assert.equal(s.parseCommand('bridge.cmd.eu.server'), null, 'too few tokens');
    assert.equal(s.parseCommand('bridge.cmd.eu.server.x.extra'), null, 'too many tokens');
    assert.equal(s.parseCommand('other.cmd.eu.server.x'), null);
  });

  // Regression (found in review; src/subjects.ts unescapeToken, line 33; reached from parseEvent line 128 and parseCommand
  // line 138): a malformed escape makes decodeURIComponent throw URIError, so parseEvent/parseCommand
  // throw instead of returning null ("null when it is not one"). Any NATS client can publish such a
  // subject under `bridge.cmd.<U>.>` (served by the supervisor) or into a retention lookup.
  test('regression: parseEvent/parseCommand return null (not throw) for malformed escapes', () => {
    for (const subject of ['bridge.evt.eu.server.%ZZ.console', 'bridge.evt.e%E0u.server.x.console', 'bridge.evt.eu.server.%2.console']) {
      let got: unknown;
      assert.doesNotThrow(() => {
        got = s.parseEvent(subject);
      }, `parseEvent(${show(subject)}) threw`);
      assert.equal(got, null, `parseEvent(${show(subject)})`);
    }
    for (const subject of ['bridge.cmd.eu.server.%ZZ', 'bridge.cmd.eu.server.%E0']) {
      let got: unknown;
      assert.doesNotThrow(() => {
        got = s.parseCommand(subject);
      }, `parseCommand(${show(subject)}) threw`);
      assert.equal(got, null, `parseCommand(${show(subject)})`);
    }
  });
});

describe('isolation: no id reaches another resource', () => {
  const s = new Subjects();
  const ADVERSARIAL = ['x', 'x.>', 'x.*', '*', '>', 'x.console', 'x.install', '', '%', 'x%2E', 'x ', ' x', 'x\n', 'x.y.z'];

  test('resourceEvents(a) matches events of a, never of b ≠ a (random + adversarial ids)', () => {
    const rand = seeded(2024);
    const ids = [...ADVERSARIAL];
    while (ids.length < 300) ids.push(randomString(rand));
    const unique = [...new Set(ids)];
    const up = 'eu';
    for (const a of unique) {
      const pattern = s.resourceEvents(up, 'server', a);
      assert.ok(subjectMatches(pattern, s.event(up, 'server.console', a)), `${show(a)} must see its own console`);
      assert.ok(subjectMatches(pattern, s.event(up, 'server.install.output', a)), `${show(a)} must see its install output`);
      for (const b of unique) {
        if (a === b) continue;
        assert.equal(
          subjectMatches(pattern, s.event(up, 'server.console', b)),
          false,
          `pattern for ${show(a)} (${show(pattern)}) matched events of ${show(b)}`,
        );
      }
    }
  });

  test('an id cannot reach another upstream, resource family or type', () => {
    const pattern = s.resourceEvents('eu', 'server', 'x');
    assert.equal(subjectMatches(pattern, s.event('us', 'server.console', 'x')), false);
    assert.equal(subjectMatches(pattern, s.event('eu', 'room.message', 'x')), false);
    assert.equal(subjectMatches(s.upstreamEvents('eu'), s.event('eu.x', 'server.console', 'x')), false);
    assert.equal(subjectMatches(s.upstreamEvents('eu'), s.event('eu', 'server.console', 'anything.>')), true);
    const consoles = s.typeAcross('eu', 'server.console');
    assert.equal(subjectMatches(consoles, s.event('eu', 'server.console', 'a.b.c')), true, 'dotted id is one token');
    assert.equal(subjectMatches(consoles, s.event('eu', 'server.stats', 'a')), false);
    assert.equal(subjectMatches(consoles, s.event('eu', 'server.console', '*')), true);
    assert.equal(subjectMatches(s.typeAcross('eu', 'server.install.output'), s.event('eu', 'server.install.output', 'q')), true);
  });

  test('a command for one id never parses as another id', () => {
    const rand = seeded(5);
    for (let i = 0; i < 500; i++) {
      const a = randomString(rand);
      const b = `${a}.x`;
      assert.notEqual(s.command('eu', 'server', a), s.command('eu', 'server', b));
      assert.equal(s.parseCommand(s.command('eu', 'server', b))?.id, b);
    }
  });
});

describe('subjectMatches', () => {
  test('literal subjects match only themselves', () => {
    assert.equal(subjectMatches('a.b.c', 'a.b.c'), true);
    assert.equal(subjectMatches('a.b.c', 'a.b.d'), false);
    assert.equal(subjectMatches('a.b', 'a.b.c'), false);
    assert.equal(subjectMatches('a.b.c', 'a.b'), false);
  });

  test('* matches exactly one token', () => {
    assert.equal(subjectMatches('a.*', 'a.b'), true);
    assert.equal(subjectMatches('a.*', 'a'), false);
    assert.equal(subjectMatches('a.*', 'a.b.c'), false);
    assert.equal(subjectMatches('a.*.c', 'a.x.c'), true);
    assert.equal(subjectMatches('a.*.c', 'a.x.d'), false);
    assert.equal(subjectMatches('*', 'a'), true);
    assert.equal(subjectMatches('*', 'a.b'), false);
    assert.equal(subjectMatches('*.*', 'a.b'), true);
  });

  test('> matches one or more trailing tokens, never zero', () => {
    assert.equal(subjectMatches('a.>', 'a.b'), true);
    assert.equal(subjectMatches('a.>', 'a.b.c.d'), true);
    assert.equal(subjectMatches('a.>', 'a'), false, '> needs at least one token');
    assert.equal(subjectMatches('>', 'a'), true);
    assert.equal(subjectMatches('>', 'a.b'), true);
    assert.equal(subjectMatches('a.*.>', 'a.b'), false);
    assert.equal(subjectMatches('a.*.>', 'a.b.c'), true);
    assert.equal(subjectMatches('b.>', 'a.b'), false);
  });
});

describe('retention', () => {
  test('retentionOf classifies console-like, last-value and other types', () => {
    assert.equal(retentionOf('server.console'), 'history');
    assert.equal(retentionOf('server.install.output'), 'history');
    assert.equal(retentionOf('server.transfer.logs'), 'history');
    assert.equal(retentionOf('room.message'), 'history');
    assert.equal(retentionOf('server.status'), 'last');
    assert.equal(retentionOf('server.stats'), 'last');
    assert.equal(retentionOf('upstream.state'), 'last');
    assert.equal(retentionOf('bot.health'), 'last');
    assert.equal(retentionOf('server.daemon.message'), 'none');
    assert.equal(retentionOf('server.backup.completed'), 'none');
    assert.equal(retentionOf('nonsense'), 'none');
  });

  test('retainedTails splits each retained type into resource and tail', () => {
    const history = retainedTails('history');
    assert.ok(history.some((t) => t.resource === 'server' && t.tail === 'install.output'));
    assert.ok(history.some((t) => t.resource === 'server' && t.tail === 'console'));
    for (const { resource, tail } of [...history, ...retainedTails('last')]) {
      assert.equal(retentionOf(`${resource}.${tail}`) === 'none', false, `${resource}.${tail}`);
    }
    assert.ok(retainedTails('last').some((t) => t.resource === 'server' && t.tail === 'status'));
  });
});
