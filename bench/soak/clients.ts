/**
 * What a dashboard of each dialect does, reduced to what the soak needs: open a socket and
 * authenticate as that dialect does (and join something, so the session holds subscriptions),
 * open one and never authenticate, and the bad frames of a flood. Plain `ws` clients, no
 * per-frame parsing beyond finding the one reply awaited.
 */
import WebSocket from 'ws';
import { CLIENT_KEY, FELIX_GUILD, PANEL_SERVER, ROOM, WINGS_SERVER, type ListenerName } from './stack.ts';

export interface Dialect {
  /** URL (and headers) of an upgrade that authenticates at once or is followed by `authFrames`. */
  authed(base: string, i: number): { url: string; headers?: Record<string, string> };
  /** Frames sent after the upgrade to authenticate and join, in order. */
  authFrames: string[];
  /** The frame that says the session is authenticated and joined. */
  ready(frame: string): boolean;
  /** URL of an upgrade that does not authenticate, or null when the dialect authenticates at the upgrade. */
  unauthenticated(base: string): string | null;
  /** The frames of the bad-frame flood (cycled). */
  badFrames: string[];
}

/** Filled in by {@link prepareDialects} (the Wings JWT comes from the relay's token endpoint). */
let wingsToken = '';

const junk = ['{', 'not json at all', '{"__proto__":{"polluted":1}}', JSON.stringify({ a: [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]] }), 'x'.repeat(2000)];

export const DIALECTS: Record<ListenerName, Dialect> = {
  wings: {
    authed: (base) => ({ url: `${base}/api/servers/${WINGS_SERVER}/ws` }),
    get authFrames() {
      return [JSON.stringify({ event: 'auth', args: [wingsToken] })];
    },
    ready: (f) => f.includes('"auth success"'),
    unauthenticated: (base) => `${base}/api/servers/${WINGS_SERVER}/ws`,
    // Forged JWTs cost an HMAC each (issue 9 defect 2), mixed with junk.
    get badFrames() {
      const forged = `${wingsToken.slice(0, wingsToken.lastIndexOf('.'))}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
      return [JSON.stringify({ event: 'auth', args: [forged] }), ...junk, JSON.stringify({ event: 'send command', args: ['x'] })];
    },
  },
  felix: {
    authed: (base) => ({ url: `${base}/felix`, headers: { authorization: CLIENT_KEY } }),
    authFrames: [JSON.stringify({ code: 20002, data: { users: [], guilds: [FELIX_GUILD] } }), JSON.stringify({ code: 20001 })],
    ready: (f) => f.includes('10001'),
    unauthenticated: () => null,
    badFrames: [...junk, JSON.stringify({ code: 20002, data: { users: 'x', guilds: 1 } }), JSON.stringify({ code: 99999 })],
  },
  cloudevents: {
    authed: (base) => ({ url: `${base}/cloudevents` }),
    authFrames: [JSON.stringify({ op: 'auth', key: CLIENT_KEY }), JSON.stringify({ op: 'subscribe', subject: `w.server.${WINGS_SERVER}.>` })],
    ready: (f) => f.includes('"subscribed"'),
    unauthenticated: (base) => `${base}/cloudevents`,
    badFrames: [...junk, JSON.stringify({ op: 'auth', key: 'ptlc_wrong_key' }), JSON.stringify({ op: 'subscribe', subject: '..' })],
  },
  panel: {
    authed: (base) => ({ url: `${base}/server/events` }),
    authFrames: [JSON.stringify({ action: 'AUTHENTICATE', data: { sessionId: CLIENT_KEY } })],
    ready: (f) => f.includes('AUTH_SUCCESS'),
    unauthenticated: (base) => `${base}/server/events`,
    badFrames: [...junk, JSON.stringify({ action: 'AUTHENTICATE', data: { sessionId: 'wrong' } }), JSON.stringify({ action: 'NOPE', data: {} })],
  },
  gateway: {
    authed: (base, i) => ({ url: `${base}/gateway?roomId=${ROOM}&participantId=soak${i}` }),
    authFrames: [],
    ready: (f) => f.includes('heartbeatInterval'),
    unauthenticated: () => null,
    // Non-JSON closes 1007 at once (as the real gateway), so a gateway flood is short by design.
    badFrames: [...junk],
  },
};

/** Fetches the Wings JWT the floods and the churn present (one per soak: it is valid for hours). */
export async function prepareDialects(httpBase: string): Promise<void> {
  const res = await fetch(`${httpBase}/api/client/servers/${WINGS_SERVER}/websocket`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
  wingsToken = ((await res.json()) as { data: { token: string } }).data.token;
}

export interface Closed {
  code: number;
  at: number;
}

/** An open socket and how it ended. */
export interface Socket {
  ws: WebSocket;
  /** When the upgrade request was made (the relay's deadline starts after this)… */
  requestedAt: number;
  /** …and when the client saw it accepted (the deadline started before this). */
  openedAt: number;
  closed: Promise<Closed>;
}

/**
 * Opens a socket. `onMessage` is attached before the upgrade completes: a frame the relay sends
 * at once (the gateway's hello) can arrive with the 101 and be emitted before `open` resolves.
 */
export function open(url: string, headers?: Record<string, string>, onMessage?: (text: string) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const requestedAt = performance.now();
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    if (onMessage) ws.on('message', (data) => onMessage(String(data)));
    const closed = new Promise<Closed>((res) => ws.once('close', (code) => res({ code, at: performance.now() })));
    ws.once('open', () => resolve({ ws, requestedAt, openedAt: performance.now(), closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Opens, authenticates and joins as `name` does; resolves once the session said so. */
export async function openAuthed(name: ListenerName, base: string, i: number, timeoutMs = 10_000): Promise<Socket> {
  const d = DIALECTS[name];
  const { url, headers } = d.authed(base, i);
  let ready = false;
  let wake: (() => void) | null = null;
  const s = await open(url, headers, (text) => {
    if (ready || !d.ready(text)) return;
    ready = true;
    wake?.();
  });
  for (const f of d.authFrames) s.ws.send(f);
  if (ready) return s;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => (wake = resolve)),
    s.closed.then(({ code }) => Promise.reject(new Error(`${name}: closed ${code} before ready`))),
    new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`${name}: no ready frame within ${timeoutMs} ms`)), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  return s;
}
