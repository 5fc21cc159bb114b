/**
 * The upstream side of every scenario, in its own process so its CPU never counts as the
 * server's. It stamps each message with a sequence number and the send time (wire.ts) and
 * publishes it one of three ways:
 * - `wings`: starts a real WingsSimulator (one running server, no automatic console or stats)
 *   and writes the line to its console, so the relay receives it as a Wings `console output`
 *   from its upstream link, exactly as from a daemon;
 * - `plain`: sends the whole frame to the baseline server's `/pub` socket;
 * - `nats`: publishes the whole frame on a subject with the `nats` package over TCP.
 *
 * Ops: setup, burst (fire-and-forget: n messages now), rate (n/s for ms, replies when done), seq.
 */
import { connect, type NatsConnection } from 'nats';
import WebSocket from 'ws';
import { WingsSimulator } from '../adapters/wings/simulator.ts';
import { systemClock } from '../src/clock.ts';
import { createLog } from '../src/log.ts';
import { serve, announce, sleep } from './child-hook.ts';
import { benchFrame, benchLine, nowUs, SERVER_UUID, SIM_API_KEY } from './wire.ts';

type Setup =
  | { mode: 'wings'; port: number }
  | { mode: 'plain'; url: string }
  | { mode: 'nats'; url: string; subject: string };

let publishOne: (seq: number) => void = () => {
  throw new Error('publisher not set up');
};
let seq = 0;
let sim: WingsSimulator | null = null;

async function setup(s: Setup): Promise<Record<string, unknown>> {
  if (s.mode === 'wings') {
    const config = {
      apiKey: SIM_API_KEY,
      consoleIntervalMs: 0,
      statsIntervalMs: 0,
      tokenTtlSeconds: 86_400,
      tokenCheckIntervalMs: 3_600_000,
      servers: [{ uuid: SERVER_UUID, name: 'bench', state: 'running' as const }],
    };
    const started = await WingsSimulator.start({ config: config as never, clock: systemClock, log: createLog('warn') }, '127.0.0.1', s.port);
    sim = started;
    publishOne = (n) => started.console(SERVER_UUID, benchLine(n, nowUs()));
    return { url: started.endpoint.url, uuid: SERVER_UUID, apiKey: SIM_API_KEY };
  }
  if (s.mode === 'plain') {
    const ws = new WebSocket(s.url, { perMessageDeflate: false });
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    publishOne = (n) => ws.send(benchFrame(n, nowUs()));
    return {};
  }
  const nc: NatsConnection = await connect({ servers: s.url, name: 'bench-publisher' });
  publishOne = (n) => nc.publish(s.subject, Buffer.from(benchFrame(n, nowUs())));
  return {};
}

function burst(args: { n: number }): number {
  for (let i = 0; i < args.n; i++) publishOne(++seq);
  return seq;
}

/**
 * Publishes `perSec` messages per second for `ms`, each at its own due time (a late timer
 * publishes every message that came due, so the average rate holds).
 */
async function rate(args: { perSec: number; ms: number }): Promise<{ sent: number; seq: number; ms: number }> {
  const start = performance.now();
  const n = Math.max(1, Math.round((args.perSec * args.ms) / 1000));
  const interval = 1000 / args.perSec;
  let sent = 0;
  while (sent < n) {
    const due = Math.min(n, Math.floor((performance.now() - start) / interval) + 1);
    while (sent < due) {
      publishOne(++seq);
      sent += 1;
    }
    if (sent < n) await sleep(Math.max(0, start + sent * interval - performance.now()));
  }
  return { sent, seq, ms: performance.now() - start };
}

serve({
  setup,
  burst,
  rate,
  seq: () => seq,
  async close() {
    await sim?.close();
    return true;
  },
});
announce({ pid: process.pid });
