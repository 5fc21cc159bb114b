/**
 * Runs generated cases against the fuzz relay and checks what came back, case by case (the HTTP
 * answer, every close the relay initiated, secrets in bodies and frames), and the relay itself
 * after each batch (alive, /healthz, its log since the last batch, the watchers).
 */
import { randomBytes } from 'node:crypto';
import { ERRORS } from '../../src/errors.ts';
import type { CaseSpec, FrameSpec } from './arbitraries.ts';
import { probe, type FuzzRelay } from './fuzz-relay.ts';
import { KEYS, S1 } from './secrets.ts';
import { runConnection, type CaseOutcome, type WireFrame } from './raw-ws.ts';

/** Generous: a loaded machine makes a connection take a second; a real hang takes forever. */
const CASE_TIMEOUT_MS = 15_000;

/** The close codes of the table, with their reasons. */
const CLOSE_ROWS = new Map<number, string>(Object.values(ERRORS).flatMap((r) => (r.close === null ? [] : [[r.close, r.reason] as [number, string]])));

/** null when a close the relay initiated names a row of src/errors.ts with that row's reason. */
export function closeProblem(code: number | null, reason: string): string | null {
  if (code === null) return 'a close frame without a code';
  const row = CLOSE_ROWS.get(code);
  if (row === undefined) return `close code ${code} (${JSON.stringify(reason)}) is not in the table`;
  if (reason !== row && !reason.startsWith(`${row}: `)) return `close ${code} has reason ${JSON.stringify(reason)}, not its row's "${row}"`;
  return null;
}

async function fetchCredential(fz: FuzzRelay, path: string): Promise<string> {
  const res = await probeWithKey(fz.port, path);
  try {
    const token = (JSON.parse(res.body) as { data?: { token?: unknown } }).data?.token;
    if (typeof token === 'string') {
      fz.book.add(token);
      return token;
    }
  } catch {
    // fall through
  }
  return `no-credential-${res.status}`;
}

async function probeWithKey(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${KEYS.fuzz}`, accept: 'application/json' } });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

/** Fills the placeholders that need a request first (a Semoxy ticket, a Wings token from the relay). */
async function materialize(fz: FuzzRelay, spec: CaseSpec): Promise<CaseSpec> {
  const text = JSON.stringify(spec);
  if (!text.includes('@@')) return spec;
  let out = text;
  if (out.includes('@@TICKET@@')) out = out.replaceAll('@@TICKET@@', await fetchCredential(fz, '/account/ticket'));
  if (out.includes('@@WTOKEN@@')) out = out.replaceAll('@@WTOKEN@@', await fetchCredential(fz, `/api/client/servers/${S1}/websocket`));
  return JSON.parse(out) as CaseSpec;
}

function head(spec: CaseSpec): Buffer {
  const lines = [`${spec.method} ${spec.target} HTTP/1.1`, ...spec.headers.map(([k, v]) => `${k}: ${v}`)];
  switch (spec.upgrade) {
    case 'none':
      lines.push('Connection: close');
      break;
    case 'good':
    case 'badKey':
    case 'badVersion':
    case 'noKey':
      lines.push('Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Version: ${spec.upgrade === 'badVersion' ? '8' : '13'}`);
      if (spec.upgrade !== 'noKey') lines.push(`Sec-WebSocket-Key: ${spec.upgrade === 'badKey' ? 'abc' : randomBytes(16).toString('base64')}`);
  }
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function wire(f: FrameSpec): WireFrame[] {
  const t = (s: string) => Buffer.from(s, 'utf8');
  switch (f.t) {
    case 'text':
      return [{ kind: 'data', opcode: 1, payload: t(f.s) }];
    case 'binary':
      return [{ kind: 'data', opcode: 2, payload: Buffer.from(f.b) }];
    case 'badUtf8':
      return [{ kind: 'data', opcode: 1, payload: Buffer.concat([t(f.s), Buffer.from(f.bad)]) }];
    case 'oversized':
      return [{ kind: 'data', opcode: f.binary ? 2 : 1, payload: Buffer.alloc(f.n, 0x61) }];
    case 'fragmented':
      return f.parts.flatMap((p, i): WireFrame[] => {
        const frame: WireFrame = { kind: 'data', opcode: i === 0 ? 1 : 0, payload: t(p), fin: i === f.parts.length - 1 };
        return f.pingBetween && i > 0 ? [{ kind: 'data', opcode: 9, payload: t('mid') }, frame] : [frame];
      });
    case 'ping':
      return [{ kind: 'data', opcode: 9, payload: t(f.s).subarray(0, 125) }];
    case 'pong':
      return [{ kind: 'data', opcode: 10, payload: t(f.s).subarray(0, 125) }];
    case 'bigPing':
      return [{ kind: 'data', opcode: 9, payload: Buffer.alloc(200, 0x70) }];
    case 'badOpcode':
      return [{ kind: 'data', opcode: f.op, payload: t('x') }];
    case 'unmasked':
      return [{ kind: 'data', opcode: 1, payload: t(f.s), unmasked: true }];
    case 'rsv':
      return [{ kind: 'data', opcode: 1, payload: t(f.s), rsv: f.rsv }];
    case 'orphanContinuation':
      return [{ kind: 'data', opcode: 0, payload: t(f.s) }];
    case 'close':
      return [{ kind: 'close', code: f.code, reason: t(f.reason).subarray(0, 123) }];
    case 'pause':
      return [{ kind: 'pause', ms: f.ms }];
    case 'abort':
      return [{ kind: 'abort', payload: t(f.s), bytes: f.cut }];
  }
}

/** What is wrong with one outcome (empty: nothing). */
function check(fz: FuzzRelay, o: CaseOutcome): string[] {
  const problems: string[] = [];
  if (o.endedBeforeAnswer === 'timeout') problems.push(`no HTTP answer within ${CASE_TIMEOUT_MS} ms`);
  const a = o.answer;
  if (a) {
    if (!(a.status >= 100 && a.status <= 599)) problems.push(`HTTP status ${a.status}`);
    if (a.status === 500) problems.push(`HTTP 500 (a contained handler error): ${a.body.slice(0, 200)}`);
    // A 200 from a credential endpoint carries the credential it just issued.
    const leaked = fz.book.find(a.body, a.status >= 400);
    if (leaked) problems.push(`secret ${leaked} in an HTTP ${a.status} body`);
    if (a.status >= 400 && a.body.startsWith('{')) {
      try {
        const code = (JSON.parse(a.body) as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('BRIDGE_ERR_')) {
          const row = (ERRORS as Record<string, { http: number }>)[code];
          if (!row) problems.push(`HTTP body names ${code}, not a row of the table`);
          else if (row.http !== a.status) problems.push(`HTTP ${a.status} with ${code}, whose row says ${row.http}`);
        }
      } catch {
        problems.push(`HTTP ${a.status} body is not JSON: ${a.body.slice(0, 100)}`);
      }
    }
  }
  if (a?.status === 101) {
    const c = o.serverClose;
    if (c) {
      const echo = o.ourClose !== null && !c.initiated && c.code === o.ourClose.code && c.reason === o.ourClose.reason;
      if (!echo) {
        const why = closeProblem(c.code, c.reason);
        if (why) problems.push(`the relay closed with ${why}`);
      }
    }
    if (o.droppedWithoutClose && !o.aborted) problems.push('the relay ended the connection without a close frame');
    if (o.hung) problems.push(`no close from the relay within ${CASE_TIMEOUT_MS} ms of ours`);
    for (const m of o.messages) {
      const leaked = fz.book.find(m);
      if (leaked) problems.push(`secret ${leaked} in a frame to the client: ${m.slice(0, 120)}`);
      // Every dialect's frames are JSON: anything else is a broken encoder.
      try {
        JSON.parse(m);
      } catch {
        problems.push(`a frame to the client that is not JSON: ${m.slice(0, 120)}`);
      }
    }
  }
  return problems;
}

/**
 * Runs every connection of a batch at once, each from an address of its own. Returns the problems
 * (by connection), and the cases run: a connection's upgrade, or each frame sequence of which at
 * least one frame reached the relay before it closed the session.
 */
export async function runBatch(fz: FuzzRelay, specs: readonly CaseSpec[]): Promise<{ problems: string[]; cases: number }> {
  const problems: string[] = [];
  let cases = 0;
  await Promise.all(
    specs.map(async (raw, i) => {
      const spec = await materialize(fz, raw);
      const starts: number[] = [];
      const frames: WireFrame[] = [];
      for (const seq of spec.sequences) {
        starts.push(frames.length);
        frames.push(...seq.flatMap(wire));
      }
      const outcome = await runConnection({
        port: fz.port,
        localAddress: fz.nextAddress(),
        head: head(spec),
        frames,
        lingerMs: spec.lingerMs,
        timeoutMs: CASE_TIMEOUT_MS,
      });
      cases += Math.max(1, starts.filter((s) => outcome.sent > s).length);
      for (const p of check(fz, outcome)) problems.push(`connection ${i}: ${p}`);
    }),
  );
  return { problems, cases };
}

let lastUpstreamToken: string | null = null;

/** Lines of the relay's log already looked at. */
const scanned = new WeakMap<FuzzRelay, number>();

/**
 * The relay after a batch: alive, /healthz answers, nothing bad in its log since the last look,
 * watchers whole; with `metrics`, also /metrics (no secret, no contained handler error counted).
 */
export async function relayProblems(fz: FuzzRelay, metrics = false): Promise<string[]> {
  const problems: string[] = [];
  const { child } = fz.proc;
  if (child.exitCode !== null || child.signalCode !== null) problems.push(`the relay process exited (${child.exitCode ?? child.signalCode})`);
  const health = await probe(fz.port, '/healthz', 10_000);
  if (health.status !== 200) problems.push(`/healthz answered ${health.status} ${health.body.slice(0, 100)}`);
  // Log lines are written synchronously to the pipe before the answer; let readline catch up.
  await new Promise((resolve) => setTimeout(resolve, 5));
  if (fz.sim.lastToken && fz.sim.lastToken !== lastUpstreamToken) fz.book.add((lastUpstreamToken = fz.sim.lastToken));
  const logs = fz.proc.logs;
  for (let i = scanned.get(fz) ?? 0; i < logs.length; i++) {
    const line = logs[i]!;
    const text = JSON.stringify(line);
    if (line.msg === 'contained a handler error') problems.push(`log: contained a handler error: ${text.slice(0, 300)}`);
    else if (/unhandled|uncaught/i.test(text)) problems.push(`log: ${text.slice(0, 300)}`);
    else if (line.level === 'error' || line.level === 'fatal') problems.push(`log at ${String(line.level)}: ${text.slice(0, 300)}`);
    const leaked = fz.book.find(text);
    if (leaked) problems.push(`secret ${leaked} in a log line: ${text.slice(0, 200)}`);
  }
  scanned.set(fz, logs.length);
  for (const w of fz.watchers) {
    problems.push(...w.problems.splice(0));
    if (w.closed) problems.push(`${w.name} ${w.closed}`);
  }
  if (metrics) problems.push(...(await metricsProblems(fz)));
  return problems;
}

async function metricsProblems(fz: FuzzRelay): Promise<string[]> {
  const problems: string[] = [];
  const metrics = await probe(fz.port, '/metrics', 10_000);
  if (metrics.status !== 200) problems.push(`/metrics answered ${metrics.status}`);
  const leaked = fz.book.find(metrics.body);
  if (leaked) problems.push(`secret ${leaked} in /metrics`);
  for (const m of metrics.body.matchAll(/^bridge_handler_errors_total\{([^}]*)\} (\d+)/gm)) {
    if (Number(m[2]) > 0) problems.push(`bridge_handler_errors_total{${m[1]}} = ${m[2]}`);
  }
  return problems;
}

/** At the end of a property: /metrics holds no secret and counts no contained error; every watcher caught up. */
export async function finalProblems(fz: FuzzRelay): Promise<string[]> {
  const problems = await relayProblems(fz, true);
  const target = fz.seq;
  const deadline = Date.now() + 20_000;
  while (fz.watchers.some((w) => w.next <= target) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  for (const w of fz.watchers) if (w.next <= target) problems.push(`${w.name} is behind: expects ${w.next}, the simulator wrote ${target} 20 s ago`);
  return problems;
}
