/**
 * The properties, run once per bus (relay.test.ts runs both buses at once), each bus against one
 * relay process: the HTTP layer, each listener's sessions, and admission control. A property's
 * run is a batch of generated connections run at once, each from its own loopback address; a
 * case is a connection's upgrade, or each frame sequence it carries that reached the relay (see
 * CaseSpec). Per connection: the HTTP answer is never a 500, names only rows of the error table
 * and holds no secret; every close the relay initiates has a code and reason from the table; no
 * frame to the client holds a secret or is not JSON; nothing hangs. After every batch: the process
 * is alive, /healthz answers, its log since the last look has no contained or unhandled error, no
 * error line and no secret, and the watchers missed nothing; every eighth batch and at the end,
 * /metrics holds no secret and counts no contained error.
 *
 * Seeded: `FUZZ_SEED` replays a run (the seed is printed; fast-check prints a failure's seed and
 * path, and shrinks it). `FUZZ_CASES` sets the cases per listener per bus (default 5 000, so the
 * two buses make 10 000 per listener; each property keeps running batches until it has that
 * many); `FUZZ_RUNS` instead fixes the number of batches of every property, for a quick look.
 * Properties run at once, so a problem found in the log or by a watcher is reported by whichever
 * property looks next (the message says what it was).
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { dialectCase, httpCase, type CaseSpec, type Dialect } from './arbitraries.ts';
import { FUZZ_LIMITS, startFuzzRelay, type FuzzRelay } from './fuzz-relay.ts';
import { finalProblems, relayProblems, runBatch } from './run-case.ts';
import { runConnection, type CaseOutcome } from './raw-ws.ts';
import { KEYS, S1 } from './secrets.ts';

const DIALECTS: readonly Dialect[] = ['wings', 'felix', 'gateway', 'panel', 'cloudevents'];
/** Cases run at once in one batch (one property run), at most. */
const BATCH = 32;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const CASES = Number(process.env.FUZZ_CASES ?? 5000);
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : null;
const HTTP_CASES = Math.ceil(CASES * 0.4);
/** Every this many batches of a property, the checks include /metrics. */
const METRICS_EVERY = 8;
/** Batches of a property's first round. */
const FIRST_ROUND = 40;

/** Counts per bus and property, printed at the end. */
interface Stat {
  cases: number;
  connections: number;
  runs: number;
  ms: number;
  /** Panel connections that asked for v1 (a ticket in the query). */
  v1?: number;
}
export const counts: Record<string, Record<string, Stat>> = {};

function failWith(problems: string[]): void {
  if (problems.length > 0) throw new Error(problems.slice(0, 20).join('\n') + (problems.length > 20 ? `\n… and ${problems.length - 20} more` : ''));
}

/** Runs batches of `arb` until `target` cases ran (or `FUZZ_RUNS` batches), with shrinking on failure. */
async function fuzz(t: TestContext, fz: FuzzRelay, label: string, seed: number, arb: fc.Arbitrary<CaseSpec>, target: number): Promise<void> {
  const stat: Stat = ((counts[fz.bus] ??= {})[label] = { cases: 0, connections: 0, runs: 0, ms: 0 });
  const started = Date.now();
  const property = fc.asyncProperty(fc.array(arb, { minLength: 1, maxLength: BATCH, size: 'max' }), async (batch) => {
    const { problems, cases } = await runBatch(fz, batch);
    // /metrics is scraped every few batches (a scrape costs the relay more than a batch's checks).
    problems.push(...(await relayProblems(fz, stat.runs % METRICS_EVERY === 0)));
    stat.cases += cases;
    stat.connections += batch.length;
    // Semoxy v1 (a ticket in the query) and v2 (AUTHENTICATE) share the panel listener's path.
    if (label === 'panel') stat.v1 = (stat.v1 ?? 0) + batch.filter((c) => c.target.includes('ticket=')).length;
    stat.runs += 1;
    failWith(problems);
  });
  // The first round has a fixed size (so a failure in it replays from FUZZ_SEED alone); later rounds
  // run three quarters of the batches the missing cases need at the rate seen so far, since
  // fast-check starts with small values and later batches are larger: a few short rounds at the
  // end cost less than overshooting the target.
  for (let round = 0; RUNS !== null ? round < 1 : stat.cases < target; round++) {
    const perRun = stat.runs > 0 ? stat.cases / stat.runs : 1;
    const numRuns = RUNS ?? (round === 0 ? FIRST_ROUND : Math.max(3, Math.ceil(((target - stat.cases) / perRun) * 0.75)));
    await fc.assert(property, { seed: seed + round, numRuns });
  }
  failWith(await finalProblems(fz));
  stat.ms = Date.now() - started;
  const split = stat.v1 === undefined ? '' : ` (${stat.v1} with a v1 ticket, ${stat.connections - stat.v1} v2)`;
  t.diagnostic(`${fz.bus} ${label}: ${stat.cases} cases on ${stat.connections} connections${split} in ${stat.runs} batches, ${(stat.ms / 1000).toFixed(1)} s (seed ${seed})`);
}

/**
 * A request sent by hand from `address` (a wrong key at a credential endpoint, or an upgrade); an
 * accepted upgrade is held open until `hold` settles.
 */
function attempt(fz: FuzzRelay, address: string, head: string, hold?: { ready: Promise<unknown>; answered(): void }): Promise<CaseOutcome> {
  return runConnection({
    port: fz.port,
    localAddress: address,
    head: Buffer.from(head),
    frames: hold ? [{ kind: 'hold', ready: hold.ready }] : [],
    lingerMs: 0,
    timeoutMs: 15_000,
    ...(hold ? { onAnswer: () => hold.answered() } : {}),
  });
}

const LIMIT_CODES = new Set(['BRIDGE_ERR_ADDRESS_LIMIT', 'BRIDGE_ERR_RATE_LIMITED', 'BRIDGE_ERR_AUTH_FAILURES', 'BRIDGE_ERR_CAPACITY']);

/** The code of a limit refusal, or a problem. */
function refusal(o: CaseOutcome): { code: string | null; problem: string | null } {
  const a = o.answer;
  if (!a) return { code: null, problem: `no answer (${o.endedBeforeAnswer})` };
  if (a.status === 101 || a.status === 401) return { code: null, problem: null };
  if (a.status !== 429 && a.status !== 503) return { code: null, problem: `unexpected ${a.status} ${a.body.slice(0, 120)}` };
  let code: unknown;
  try {
    code = (JSON.parse(a.body) as { code?: unknown }).code;
  } catch {
    return { code: null, problem: `a ${a.status} without a JSON body: ${a.body.slice(0, 120)}` };
  }
  if (typeof code !== 'string' || !LIMIT_CODES.has(code)) return { code: null, problem: `a ${a.status} naming ${String(code)}` };
  if ((code === 'BRIDGE_ERR_RATE_LIMITED' || code === 'BRIDGE_ERR_AUTH_FAILURES') && !/^\d+$/.test(a.headers['retry-after'] ?? '')) {
    return { code, problem: `${code} without a Retry-After` };
  }
  return { code, problem: null };
}

export function fuzzSuite(bus: 'memory' | 'nats'): void {
  // Properties run at once: each batch waits on the relay, so the two processes stay busy.
  describe(`on the ${bus} bus`, { concurrency: true }, () => {
    let fz: FuzzRelay;
    const seedOf = (i: number) => (SEED + i * 7919 + (bus === 'nats' ? 104_729 : 0)) % 2 ** 31;

    before(async () => {
      fz = await startFuzzRelay(bus);
    });
    after(async () => {
      await fz?.stop();
    });

    test('HTTP: any target, method and headers, plain or as an upgrade', async (t) => {
      t.diagnostic(`FUZZ_SEED=${SEED}`);
      await fuzz(t, fz, 'http', seedOf(0), httpCase(fz.env), HTTP_CASES);
    });

    DIALECTS.forEach((dialect, i) => {
      test(`${dialect} listener: random upgrades and frame sequences`, async (t) => {
        await fuzz(t, fz, dialect, seedOf(i + 1), dialectCase(dialect, fz.env), CASES);
      });
    });

    test('admission: one address driven past the connection, connect-rate and auth-failure limits', async (t) => {
      const L = FUZZ_LIMITS;
      const host = `Host: ${fz.env.hostPort}`;
      const upgrade = (path: string) => `GET ${path} HTTP/1.1\r\n${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==`;
      const plan = fc.record({
        held: fc.integer({ min: 0, max: L.maxConnectionsPerAddress + 16 }),
        badAuth: fc.integer({ min: 0, max: L.authFailuresPerAddress.burst + 20 }),
        endpoint: fc.constantFrom('/account/ticket', `/api/client/servers/${S1}/websocket`),
        path: fc.constantFrom('/cloudevents', '/gateway?roomId=lobby&participantId=x', '/server/events', `/api/servers/${S1}/ws`),
        authFirst: fc.boolean(),
      });
      let runs = 0;
      let hits = 0;
      await fc.assert(
        fc.asyncProperty(plan, async (p) => {
          runs += 1;
          const address = fz.nextAddress(1);
          const problems: string[] = [];
          const seen = new Map<string, number>();
          const tally = (o: CaseOutcome) => {
            const r = refusal(o);
            if (r.problem) problems.push(r.problem);
            if (r.code) seen.set(r.code, (seen.get(r.code) ?? 0) + 1);
          };
          const badAuth = async () => {
            const began = Date.now();
            const head = `GET ${p.endpoint} HTTP/1.1\r\n${host}\r\nAuthorization: Bearer ptlc_wrong_${runs}\r\nConnection: close`;
            (await Promise.all(Array.from({ length: p.badAuth }, () => attempt(fz, address, head)))).forEach(tally);
            // Tokens that came back while the attempts ran: past burst + those, some must be refused.
            const refilled = Math.ceil((Date.now() - began) / L.authFailuresPerAddress.refillMs) + 1;
            if (p.badAuth > L.authFailuresPerAddress.burst + refilled && !seen.has('BRIDGE_ERR_AUTH_FAILURES')) {
              problems.push(`${p.badAuth} failed authentications and no 429 BRIDGE_ERR_AUTH_FAILURES`);
            }
          };
          const held = async () => {
            // Every admitted socket stays open until every attempt has its answer: all are open at once.
            let answers = 0;
            let release = () => {};
            const ready = new Promise<void>((resolve) => (release = resolve));
            const hold = { ready, answered: () => ++answers === p.held && release() };
            if (p.held === 0) release();
            const outcomes = await Promise.all(Array.from({ length: p.held }, () => attempt(fz, address, upgrade(p.path), hold)));
            outcomes.forEach(tally);
            const admitted = outcomes.filter((o) => o.answer?.status === 101).length;
            if (admitted > L.maxConnectionsPerAddress) problems.push(`${admitted} sockets admitted at once from one address (limit ${L.maxConnectionsPerAddress})`);
          };
          if (p.authFirst) {
            await badAuth();
            await held();
          } else {
            await held();
            await badAuth();
          }
          hits += [...seen.values()].reduce((a, b) => a + b, 0);
          problems.push(...(await relayProblems(fz)));
          failWith(problems);
        }),
        { seed: seedOf(9), numRuns: RUNS ?? 12 },
      );
      // Another address is not affected by what this one did.
      const fresh = await attempt(fz, fz.nextAddress(1), `GET /cloudevents HTTP/1.1\r\n${host}\r\nAuthorization: Bearer ${KEYS.fuzz}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==`);
      failWith(fresh.answer?.status === 101 ? [] : [`a fresh address was refused: ${fresh.answer?.status} ${fresh.answer?.body ?? ''}`]);
      failWith(await finalProblems(fz));
      ((counts[bus] ??= {})['admission'] = { cases: runs, connections: 0, runs, ms: 0 });
      t.diagnostic(`${bus} admission: ${runs} runs, ${hits} limit refusals`);
    });
  });
}
