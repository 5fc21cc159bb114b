/**
 * The one conformance suite every adapter passes. An adapter supplies a kit (its codec entry
 * points, fixture frames, and how to start a relay around its simulator and talk to it); the
 * suite checks codec round trips, that malformed input never throws, auth accepted and refused,
 * heartbeat obligations kept and enforced on a manual clock, and that every close the relay
 * initiates uses a code from the table.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { ProtocolAdapter } from '../../src/contracts.ts';
import { ERRORS } from '../../src/errors.ts';
import { ALL_EVENT_TYPES } from '../../src/event-types.ts';
import { makeEvent } from '../../src/events.ts';
import type { Relay } from '../../src/relay.ts';
import { seeded } from './random.ts';

export interface ConformanceHarness {
  relay: Relay;
  clock: ManualClock;
  stop(): Promise<void>;
}

export type ConnectOutcome = { accepted: true; close(): void } | { accepted: false; httpStatus?: number; closeCode?: number };

export interface ConformanceKit {
  name: string;
  adapter: ProtocolAdapter;
  /** The codec's wire decoder (any direction); null for anything it does not accept. */
  decode(text: string): unknown | null;
  /** The codec's wire encoder for what `decode` returns. */
  encode(packet: unknown): string;
  /** Frames the protocol really sends, both directions. */
  validFrames: readonly string[];
  /** Frames that must decode to null. */
  malformedFrames: readonly string[];
  /** A relay on port 0 (memory bus, this clock) with the adapter's simulator upstream and a listener of its dialect, links ready. */
  start(clock: ManualClock): Promise<ConformanceHarness>;
  /** A dashboard connection with good or bad credentials. */
  connect(h: ConformanceHarness, credentials: 'good' | 'bad'): Promise<ConnectOutcome>;
  /** A connected client that stays silent past its heartbeat duty; the close code the relay used, or 'terminated'. Absent when the dialect puts no heartbeat duty on clients. */
  heartbeatTimeout?(h: ConformanceHarness): Promise<number | 'terminated'>;
  /** Advances the clock well past the upstream's heartbeat deadline and asserts the link stayed up (the relay kept its duty). */
  upstreamHeartbeat?(h: ConformanceHarness): Promise<void>;
  /** Close codes the real protocol defines besides the table (e.g. 1014, 4001). */
  nativeCloseCodes?: readonly number[];
}

const TABLE_CODES = new Set<number>(Object.values(ERRORS).flatMap((e) => (e.close === null ? [] : [e.close])));

function garbage(rand: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const atoms = ['{', '}', '[', ']', '"', ':', ',', 'null', 'true', '1e999', '-0', '"event"', '"code"', '"e"', '"action"', '"d"', '"data"', '"args"', '\\u0000', '\u2028', ' ', '"op"', '20001', '{"e":', '{"code":', '{"action":'];
  let s = '';
  const n = Math.floor(rand() * 24);
  for (let i = 0; i < n; i++) s += pick(atoms);
  return s;
}

const DATA = [null, {}, [], 'x', 42, { state: 'running' }, { line: 5 }, { state: { nested: true } }, { message: null }, { guildId: 1, data: 'x' }];

export function runConformance(kit: ConformanceKit): void {
  describe(`conformance: ${kit.name}`, () => {
    test('codec: every valid frame decodes, and re-encoding it decodes to the same packet', () => {
      assert.ok(kit.validFrames.length > 0);
      for (const frame of kit.validFrames) {
        const packet = kit.decode(frame);
        assert.notEqual(packet, null, `valid frame rejected: ${frame}`);
        assert.deepEqual(kit.decode(kit.encode(packet)), packet, `round trip of ${frame}`);
      }
    });

    test('codec: malformed frames decode to null; garbage never throws, neither does encoding odd events', () => {
      for (const frame of kit.malformedFrames) assert.equal(kit.decode(frame), null, `accepted: ${frame}`);
      const rand = seeded(kit.name.length * 7919);
      for (let i = 0; i < 3000; i++) {
        const text = garbage(rand);
        assert.doesNotThrow(() => kit.decode(text), `decode threw on ${text}`);
      }
      for (const type of ALL_EVENT_TYPES) {
        for (const data of DATA) {
          const event = makeEvent({ upstream: 'u', node: 'n' }, type, 'id', data);
          for (const variant of ['', 'errors', 'generic', 'x']) assert.doesNotThrow(() => kit.adapter.encode(event, variant), `${type} ${JSON.stringify(data)}`);
        }
      }
    });

    test('auth: good credentials are accepted, bad ones refused with an HTTP status or a close code from the table', async () => {
      const h = await kit.start(new ManualClock());
      try {
        const good = await kit.connect(h, 'good');
        assert.equal(good.accepted, true);
        if (good.accepted) good.close();
        const bad = await kit.connect(h, 'bad');
        assert.equal(bad.accepted, false);
        if (!bad.accepted) {
          assert.ok(bad.httpStatus !== undefined || bad.closeCode !== undefined, 'a refusal says how');
          if (bad.closeCode !== undefined) assert.ok(TABLE_CODES.has(bad.closeCode) || kit.nativeCloseCodes?.includes(bad.closeCode), `close code ${bad.closeCode} is in no table`);
        }
      } finally {
        await h.stop();
      }
    });

    test('heartbeat: the relay keeps its upstream duty and enforces the client\'s on a manual clock', async () => {
      const h = await kit.start(new ManualClock());
      try {
        if (kit.upstreamHeartbeat) await kit.upstreamHeartbeat(h);
        if (kit.heartbeatTimeout) {
          const code = await kit.heartbeatTimeout(h);
          if (code !== 'terminated') assert.ok(TABLE_CODES.has(code) || kit.nativeCloseCodes?.includes(code), `close code ${code} is in no table`);
        }
        assert.ok(kit.upstreamHeartbeat || kit.heartbeatTimeout, 'the kit checks at least one heartbeat side');
      } finally {
        await h.stop();
      }
    });
  });
}
