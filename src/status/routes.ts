/**
 * The status page's routes on the one port:
 *
 *   GET /, GET /status      the page (plain HTML, src/status/assets/page.html)
 *   GET /status/page.js     its script, GET /status/page.css its style sheet
 *   GET /status.json        the data it polls (src/status/snapshot.ts), also for scripts
 *
 * The assets are read once when the relay starts (no build step, nothing fetched from elsewhere:
 * a relay works offline) and served with a Content-Security-Policy that allows only this origin,
 * so the page's one credential, a client key typed into the live tail, can only travel to this
 * relay's own CloudEvents listener. The page runs under the Host check like any route
 * (`http.allowedHosts`): unlike the probes it is for browsers, which DNS rebinding can misdirect.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../clock.ts';
import type { ListenerConfig } from '../config/schema.ts';
import type { HttpResponse, HttpRoute } from '../contracts.ts';
import type { Metrics } from '../metrics.ts';
import { buildSnapshot, listenerView, RateWindow, type ListenerView } from './snapshot.ts';

/** The paths this module serves (src/config/routes.ts keeps listeners off them). */
export const STATUS_ROUTES = ['/', '/status', '/status.json', '/status/page.js', '/status/page.css'] as const;

const HERE = dirname(fileURLToPath(import.meta.url));

/** Same origin only (and the empty data: favicon, so the browser does not ask for /favicon.ico); no inline script or style, no frames, no form posts anywhere. */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function asset(name: string): string {
  const file = join(HERE, 'assets', name);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    // A compiled install that forgot to copy the assets (see deploy/Dockerfile) fails at start, not per request.
    throw new Error(`status page asset missing: ${file} (${(err as Error).message})`);
  }
}

/** package.json's version: the nearest package.json above this module (src/ when run from source, dist/src/ when compiled). */
export function packageVersion(): string {
  for (let dir = HERE, i = 0; i < 6; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'protocol-bridge' && typeof pkg.version === 'string') return pkg.version;
  }
  return 'unknown';
}

export interface StatusPageOptions {
  metrics: Metrics;
  clock: Clock;
  /** /readyz's answer: readiness, node, bus, sessions and every link's state. */
  readiness(): { ready: boolean; detail: Record<string, unknown> };
}

export class StatusPage {
  readonly #o: StatusPageOptions;
  readonly #listeners: ListenerView[] = [];
  readonly #rates = new RateWindow();
  readonly #version = packageVersion();
  readonly #html = asset('page.html');
  readonly #js = asset('page.js');
  readonly #css = asset('page.css');

  constructor(opts: StatusPageOptions) {
    this.#o = opts;
  }

  /** Records a mounted listener (the page lists them; the first CloudEvents one carries the live tail). */
  listener(l: Readonly<ListenerConfig>): void {
    this.#listeners.push(listenerView(l));
  }

  routes(): HttpRoute[] {
    const page = (text: string, type: string): HttpResponse => ({ status: 200, text, headers: { ...PAGE_HEADERS, 'content-type': type } });
    const html = () => page(this.#html, 'text/html; charset=utf-8');
    return [
      { method: 'GET', path: '/', handle: html },
      { method: 'GET', path: '/status', handle: html },
      { method: 'GET', path: '/status/page.js', handle: () => page(this.#js, 'text/javascript; charset=utf-8') },
      { method: 'GET', path: '/status/page.css', handle: () => page(this.#css, 'text/css; charset=utf-8') },
      {
        method: 'GET',
        path: '/status.json',
        handle: async () => ({
          status: 200,
          json: await buildSnapshot({
            metrics: this.#o.metrics,
            readiness: this.#o.readiness,
            listeners: this.#listeners,
            version: this.#version,
            now: () => this.#o.clock.now(),
            rates: this.#rates,
          }),
          headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
        }),
      },
    ];
  }
}
