/**
 * One measured run: one scenario at one client count, from a fresh stack and a fresh load
 * generator. Phases, in order:
 * 1. warm-up: min(C,100) clients receive 200 messages (JIT the whole path), then disconnect;
 * 2. memory: server RSS after a settle period (and a forced GC where the server is Node) with no
 *    client, then with C idle authenticated clients; the difference / C is memory per connection.
 *    For Node servers the resident young generation is left out of both readings: V8 grows it
 *    (up to 32 MiB) when the handshakes allocate fast, and it does not scale with C (the figure
 *    with it is reported too);
 * 3. fixed rate: the publisher sends rate/C messages per second (rate deliveries/s in total),
 *    after a warm-up at the same rate; every delivery's latency is recorded;
 * 4. saturation: closed loop. The publisher sends windows of B ≈ window/C messages and may be at
 *    most `depth` windows ahead of what the clients have received in total, so nothing queues
 *    without bound; deliveries/s and CPU are measured over a fixed time after a warm-up;
 * 5. loss: after everything drained, each client's count against what was published since it
 *    connected.
 */
import { cpuLayout, cpuSeconds, Ipc, machineBusySeconds, pinTo, rssBytes, startNode } from './procs.ts';
import { startStack, type ScenarioName, type Stack, type Target } from './scenarios.ts';
import { sleep } from './child-hook.ts';
import type { ClientStats, LatencySummary } from './wire.ts';
import { readRelayTiming, resetRelayTiming, type RelayTiming } from './relay-timing.ts';

export interface PhaseOptions {
  settleMs: number;
  fixedWarmMs: number;
  fixedMs: number;
  satWarmMs: number;
  satMs: number;
  /** Deliveries per second of the fixed-rate phase (all clients together). */
  rate: number;
  /** Deliveries per closed-loop window (B = window / C messages). */
  windowDeliveries: number;
  /** Windows the publisher may be ahead of the clients. */
  depth: number;
  /** A wait gives up when no message arrived for this long. */
  idleMs: number;
  /** Put the load generator on a CPU of its own (see {@link cpuLayout}); `--no-pin` turns it off. */
  pin: boolean;
}

export interface RunResult {
  scenario: ScenarioName;
  clients: number;
  rep: number;
  openMs: number;
  /** Wall time of each phase, for finding where a slow run spent it. */
  phaseMs: Record<string, number>;
  memory: {
    rssNoClientsBytes: number;
    rssIdleBytes: number;
    /** Growth per connection of RSS less V8's young generation (Node servers) or of RSS (nats-server). */
    perConnBytes: number;
    /** Growth per connection of RSS as it is (young generation included). */
    rssPerConnBytes: number;
    /** JS heap (heapUsed + external) growth per connection; NaN for nats-server. */
    heapPerConnBytes: number;
    forcedGc: boolean;
  };
  fixed: LatencySummary & { targetDeliveriesPerSec: number; messagesPerSec: number; serverCpuPct: number };
  sat: {
    deliveriesPerSec: number;
    publishesPerSec: number;
    seconds: number;
    windowMessages: number;
    stalled: boolean;
    serverCpuPct: number;
    busCpuPct: number | null;
    publisherCpuPct: number;
    loadgenCpuPct: number;
    /** CPU used by everything that is not this run's processes (other work on the box), % of one core. */
    otherCpuPct: number;
    serverCpuUsPerDelivery: number;
    /** CPU of the server and its bus (relays + nats-servers in the cluster scenario) per delivery. */
    stackCpuUsPerDelivery: number;
    rssBytes: number;
  };
  loss: ClientStats & { expectedPerClient: number };
  /**
   * The relay's own share (relay-mem, relay-nats): receipt of each upstream frame to the last socket
   * write of its event, over the fixed-rate and the saturation phases (bench/relay-timing.ts).
   */
  relay: { fixed: RelayTiming; sat: RelayTiming } | null;
  /** The server's last stderr lines, when it closed clients or the loop stalled (e.g. a drain: which signal). */
  serverLogTail?: string;
}

/** Opens `count` clients spread evenly over the targets (the relays of a cluster), in turn. */
async function openClients(lg: Ipc, targets: Target[], count: number): Promise<number> {
  let ms = 0;
  for (let i = 0; i < targets.length; i++) {
    const n = Math.floor(count / targets.length) + (i < count % targets.length ? 1 : 0);
    if (n === 0) continue;
    const r = await lg.call<{ opened: number; failed: number; firstError: string | null; ms: number }>('open', { ...targets[i], count: n });
    if (r.failed > 0) throw new Error(`${r.failed} of ${n} clients failed to connect to ${targets[i]!.url}: ${r.firstError}`);
    ms += r.ms;
  }
  return ms;
}

const sumOf = (values: number[]) => values.reduce((a, v) => a + v, 0);
const serverRss = (stack: Stack) => sumOf(stack.serverPids.map(rssBytes));

async function settledMemory(stack: Stack, settleMs: number): Promise<{ rss: number; heap: number; young: number }> {
  await sleep(settleMs);
  // Node servers collect garbage synchronously right before they report (process-hook.mjs).
  const m = stack.memory ? await stack.memory(true) : null;
  return { rss: serverRss(stack), heap: m ? m.heapUsed + m.external : Number.NaN, young: m?.youngBytes ?? 0 };
}

interface Snapshot {
  total: number;
  us: number;
  cpu: number[];
  machine: number;
}

async function snapshot(lg: Ipc, pids: (number | null)[]): Promise<Snapshot> {
  const c = await lg.call<{ total: number; us: number }>('count');
  return { total: c.total, us: c.us, cpu: pids.map((p) => (p === null ? Number.NaN : cpuSeconds(p))), machine: machineBusySeconds() };
}

const pct = (cpu0: number, cpu1: number, seconds: number) => (Number.isNaN(cpu0) ? Number.NaN : ((cpu1 - cpu0) / seconds) * 100);

export async function runInstance(name: ScenarioName, C: number, rep: number, o: PhaseOptions): Promise<RunResult> {
  const phaseMs: Record<string, number> = {};
  let last = performance.now();
  const phase = (label: string) => {
    const now = performance.now();
    phaseMs[label] = Math.round(now - last);
    last = now;
  };
  const lgChild = startNode('bench/loadgen.ts');
  const lg = new Ipc(lgChild);
  let stack: Stack;
  try {
    [stack] = await Promise.all([startStack(name), lg.ready()]);
  } catch (err) {
    await lgChild.stop();
    throw err;
  }
  // Left to itself, the kernel here often put the load generator on the server's CPU (socket
  // wake-ups pull the reader next to the writer): a relay at C = 5 000 was preempted ~700 times
  // per fan-out and took 60 ms for it instead of 45. Which server it happened to, changed the
  // comparison; pinned, every server has a CPU the load generator does not use.
  const layout = o.pin ? cpuLayout() : null;
  if (layout) {
    pinTo(lgChild.pid, layout.loadgen);
    for (const pid of [...stack.serverPids, ...stack.busPids, stack.pubPid]) pinTo(pid, layout.rest);
  }
  let published = 0;
  const burst = (n: number) => {
    stack.pub.send('burst', { n });
    published += n;
  };
  const rate = async (perSec: number, ms: number) => {
    const r = await stack.pub.call<{ sent: number; seq: number }>('rate', { perSec, ms });
    published = r.seq;
    return r;
  };
  try {
    phase('start');
    // 1. warm-up
    const warmC = Math.min(C, 100);
    await openClients(lg, stack.targets, warmC);
    burst(200);
    await lg.call('waitFor', { target: 200 * warmC, idleMs: o.idleMs });
    await lg.call('close');
    phase('warmup');

    // 2. memory. C clients come and go first, so both readings are of a process that has already
    // served C connections: pools sized by a burst of C handshakes (V8's young generation, malloc's
    // arenas) are at that size in both, and the difference is what C idle connections hold.
    await openClients(lg, stack.targets, C);
    await lg.call('close');
    const mem0 = await settledMemory(stack, o.settleMs);
    const openMs = await openClients(lg, stack.targets, C);
    const seq0 = published;
    const memC = await settledMemory(stack, o.settleMs);
    const delivered = () => (published - seq0) * C;
    phase('memory');

    // 3. fixed rate
    const perSec = o.rate / C;
    await rate(perSec, o.fixedWarmMs);
    await lg.call('waitFor', { target: delivered(), idleMs: o.idleMs });
    await lg.call('reset', { latency: true });
    await resetRelayTiming(stack.relayIpc);
    const f0 = await snapshot(lg, stack.serverPids);
    await rate(perSec, o.fixedMs);
    await lg.call('waitFor', { target: delivered(), idleMs: o.idleMs });
    const f1 = await snapshot(lg, stack.serverPids);
    const relayFixed = await readRelayTiming(stack.relayIpc);
    const latency = await lg.call<LatencySummary>('latency');
    await lg.call('reset', { latency: false });
    phase('fixed');

    // 4. saturation (closed loop)
    const B = Math.max(1, Math.round(o.windowDeliveries / C));
    const base = delivered();
    let sent = 0;
    let stalled = false;
    const pump = async (untilMs: number) => {
      while (!stalled && performance.now() < untilMs) {
        const need = base + Math.max(0, sent - (o.depth - 1) * B) * C;
        const w = await lg.call<{ reached: boolean }>('waitFor', { target: need, idleMs: o.idleMs });
        if (!w.reached) stalled = true;
        else {
          burst(B);
          sent += B;
        }
      }
    };
    await pump(performance.now() + o.satWarmMs);
    // CPU readings, in this order: the server process(es), the bus process(es), publisher, load generator.
    const nS = stack.serverPids.length;
    const nB = stack.busPids.length;
    const pids = [...stack.serverPids, ...stack.busPids, stack.pubPid, lgChild.pid];
    await resetRelayTiming(stack.relayIpc);
    const s0 = await snapshot(lg, pids);
    await pump(performance.now() + o.satMs);
    const s1 = await snapshot(lg, pids);
    const relaySat = await readRelayTiming(stack.relayIpc);
    const satRss = serverRss(stack);
    const seconds = (s1.us - s0.us) / 1e6;
    const deliveries = s1.total - s0.total;
    await lg.call('waitFor', { target: delivered(), idleMs: o.idleMs });

    // 5. loss
    const expectedPerClient = published - seq0;
    const loss = await lg.call<ClientStats>('stats', { expected: expectedPerClient });
    phase('saturation');
    const fixedSeconds = (f1.us - f0.us) / 1e6;
    const used = (from: number, to: number) => sumOf(s1.cpu.slice(from, to).map((v, i) => v - s0.cpu[from + i]!));
    const serverCpuSat = used(0, nS);
    const busCpuSat = used(nS, nS + nB);
    return {
      scenario: name,
      clients: C,
      rep,
      openMs,
      phaseMs,
      memory: {
        rssNoClientsBytes: mem0.rss,
        rssIdleBytes: memC.rss,
        perConnBytes: (memC.rss - memC.young - (mem0.rss - mem0.young)) / C,
        rssPerConnBytes: (memC.rss - mem0.rss) / C,
        heapPerConnBytes: (memC.heap - mem0.heap) / C,
        forcedGc: stack.memory !== null,
      },
      fixed: { ...latency, targetDeliveriesPerSec: o.rate, messagesPerSec: perSec, serverCpuPct: pct(sumOf(f0.cpu), sumOf(f1.cpu), fixedSeconds) },
      sat: {
        deliveriesPerSec: deliveries / seconds,
        publishesPerSec: deliveries / C / seconds,
        seconds,
        windowMessages: B,
        stalled,
        serverCpuPct: (serverCpuSat / seconds) * 100,
        busCpuPct: nB === 0 ? null : (busCpuSat / seconds) * 100,
        publisherCpuPct: pct(s0.cpu[nS + nB]!, s1.cpu[nS + nB]!, seconds),
        loadgenCpuPct: pct(s0.cpu[nS + nB + 1]!, s1.cpu[nS + nB + 1]!, seconds),
        otherCpuPct: (((s1.machine - s0.machine) - s1.cpu.reduce((a, v, i) => a + (Number.isNaN(v) ? 0 : v - s0.cpu[i]!), 0)) / seconds) * 100,
        serverCpuUsPerDelivery: deliveries > 0 ? (serverCpuSat * 1e6) / deliveries : Number.NaN,
        stackCpuUsPerDelivery: deliveries > 0 ? ((serverCpuSat + busCpuSat) * 1e6) / deliveries : Number.NaN,
        rssBytes: satRss,
      },
      loss: { ...loss, expectedPerClient },
      relay: stack.relayIpc ? { fixed: relayFixed, sat: relaySat } : null,
      ...(stalled || Object.keys(loss.closes).length > 0 ? { serverLogTail: stack.logTail() } : {}),
    };
  } finally {
    await lg.call('close').catch(() => undefined);
    await Promise.all([lgChild.stop(), stack.stop()]);
  }
}
