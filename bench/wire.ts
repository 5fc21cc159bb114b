/**
 * What the bench processes share: the benchmark message, the clock its timestamp is read from,
 * and the latency histogram the load generator fills and the orchestrator reads.
 *
 * Every message is one Wings `console output` frame of exactly {@link FRAME_BYTES} bytes whose
 * line carries a fixed-width sequence number and send time:
 *   {"event":"console output","args":["#S0000000042T0000012345678901|<filler>"]}
 * The receiver finds `#S` with one native `indexOf` and reads the two digit runs in place, so it
 * never parses JSON per message. The relay forwards the line verbatim (no escaping is needed).
 */

/**
 * A relay's log line saying its upstream link is ready. pino writes the message key last, after
 * the fields, so the two parts are matched in either order.
 */
export const LINK_READY_LINE = /^(?=.*"msg":"upstream link state")(?=.*"state":"ready")/;

/** The one game server the simulator runs and every relay client watches. */
export const SERVER_UUID = 'b3ac0000-0000-4000-8000-00000000be0c';
export const SIM_API_KEY = 'ptlc_bench_simulator_key';

/** Size of one message as a client of the relay or of the baseline receives it. */
export const FRAME_BYTES = 150;
/** Marker in front of the sequence number. */
export const MARK = Buffer.from('#S');
const SEQ_DIGITS = 10;
const TIME_DIGITS = 16;
const HEAD = '{"event":"console output","args":["';
const TAIL = '"]}';
const FILLER = '[12:00:00 INFO]: <Player3> fan-out benchmark line, padded to a typical console size ........................';
const LINE_BYTES = FRAME_BYTES - HEAD.length - TAIL.length;

/**
 * Microseconds on CLOCK_MONOTONIC. `process.hrtime` reads the system-wide monotonic clock on
 * Linux, so a value taken in one process can be subtracted from one taken in another.
 */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The console line of message `seq`, stamped with `sentUs`. */
export function benchLine(seq: number, sentUs: number): string {
  const head = `#S${String(seq).padStart(SEQ_DIGITS, '0')}T${String(sentUs).padStart(TIME_DIGITS, '0')}|`;
  return head + FILLER.slice(0, LINE_BYTES - head.length);
}

/** The whole frame the baseline and the NATS peer carry (the relay builds the same from the line). */
export function benchFrame(seq: number, sentUs: number): string {
  return HEAD + benchLine(seq, sentUs) + TAIL;
}

function digits(buf: Buffer, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) v = v * 10 + (buf[i]! - 48);
  return v;
}

/** Offset of the marker in `buf[start, end)`, or -1 when this is not a bench message. */
export function findMark(buf: Buffer, start: number, end: number): number {
  const i = buf.indexOf(MARK, start);
  return i < 0 || i + 2 + SEQ_DIGITS + 1 + TIME_DIGITS > end ? -1 : i;
}

export function seqAt(buf: Buffer, mark: number): number {
  return digits(buf, mark + 2, SEQ_DIGITS);
}

export function sentUsAt(buf: Buffer, mark: number): number {
  return digits(buf, mark + 3 + SEQ_DIGITS, TIME_DIGITS);
}

/**
 * Log-linear histogram of microsecond values: exact below 64 µs, then 32 linear buckets per
 * power of two (≤ 3 % error). 864 counters cover 0 µs to 35 minutes.
 */
export class Histogram {
  readonly counts = new Float64Array(864);
  count = 0;
  max = 0;

  static bucket(v: number): number {
    const x = v < 0 ? 0 : v >= 0x7fffffff ? 0x7fffffff : Math.floor(v);
    if (x < 64) return x;
    const e = 31 - Math.clz32(x);
    return 64 + (e - 6) * 32 + ((x >>> (e - 5)) & 31);
  }

  static lower(i: number): number {
    if (i < 64) return i;
    const e = ((i - 64) >> 5) + 6;
    return (32 + ((i - 64) & 31)) * 2 ** (e - 5);
  }

  record(v: number): void {
    this.counts[Histogram.bucket(v)]! += 1;
    this.count += 1;
    if (v > this.max) this.max = v;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
  }

  /** Value at quantile `q` (0..1): the middle of the bucket holding it, capped at the max. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, (Histogram.lower(i) + Histogram.lower(i + 1)) / 2);
    }
    return this.max;
  }

  summary(): LatencySummary {
    return { samples: this.count, p50Us: Math.round(this.quantile(0.5)), p99Us: Math.round(this.quantile(0.99)), maxUs: Math.round(this.max) };
  }
}

export interface LatencySummary {
  samples: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** How a load-generator client speaks to its server. */
export type ClientMode = 'wings' | 'plain' | 'nats-ws';

export interface OpenRequest {
  mode: ClientMode;
  url: string;
  count: number;
  /** Wings: the JWT every client sends in `auth` (one token per server is enough). */
  token?: string;
  /** NATS over WebSocket: the subject to SUB. */
  subject?: string;
}

/** Final per-client accounting from the load generator. */
export interface ClientStats {
  clients: number;
  open: number;
  /** Messages received, summed over clients. */
  total: number;
  /** Σ max(0, expected − received) over clients. */
  lost: number;
  /** Clients that received fewer than expected. */
  short: number;
  gaps: number;
  dups: number;
  /** Close codes of sockets the server closed, with counts. */
  closes: Record<string, number>;
}

/** A socket whose last read ended inside a frame: the unparsed tail waits in `rest`. */
export interface RestHolder {
  rest: Buffer | null;
}

/** This read, after the tail the previous one left (which is cleared). */
export function takeRest(c: RestHolder, chunk: Buffer): Buffer {
  if (c.rest === null) return chunk;
  const buf = Buffer.concat([c.rest, chunk]);
  c.rest = null;
  return buf;
}

/** Keeps `buf` from `p` on for the next read (a copy: a subarray would pin the whole read until then). */
export function keepRest(c: RestHolder, buf: Buffer, p: number): void {
  if (p < buf.length) c.rest = Buffer.from(buf.subarray(p));
}
