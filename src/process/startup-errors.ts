/**
 * Failures an operator can expect at start, each turned into one line that says what is wrong and
 * how to fix it: a port in use or not allowed, an address that is not this machine's, a TLS pair
 * that cannot be read. Anything else is unexpected: main.ts prints it whole (with its stack).
 */
import type { BridgeConfig } from '../config/schema.ts';
import { TlsError } from '../tls.ts';

export interface StartupContext {
  /** The config file, as the user named it. */
  file: string;
  config: BridgeConfig;
  /** The port came from `--port`, not from `http.port`. */
  portFromFlag: boolean;
}

interface ListenError {
  code?: unknown;
  syscall?: unknown;
  port?: unknown;
  address?: unknown;
  hostname?: unknown;
}

/** Which configured thing listens on `port`: the relay's one port, or a simulator's. */
function owner(ctx: StartupContext, port: number): { what: string; key: string; flag: boolean } {
  const { config } = ctx;
  if (port === config.http.port) return { what: `port ${port}`, key: 'http.port', flag: true };
  const i = config.simulators.findIndex((s) => s.port === port);
  if (i >= 0) return { what: `port ${port} (simulator ${JSON.stringify(config.simulators[i]!.name)})`, key: `simulators[${i}].port`, flag: false };
  return { what: `port ${port}`, key: 'http.port', flag: true };
}

/** How to choose another port for `o`: the flag (when it applies) and the config key. */
function change(ctx: StartupContext, o: { key: string; flag: boolean }): string {
  if (!o.flag) return `set ${o.key} in ${ctx.file} (0 = any free port)`;
  if (ctx.portFromFlag) return 'run with another --port N';
  return `run with --port N (or ${o.key} in ${ctx.file})`;
}

/** One line (without the `bridge: ` prefix) for an expected start failure; null for anything else. */
export function explainStartupError(err: unknown, ctx: StartupContext): string | null {
  if (err instanceof TlsError) return `http.tls in ${ctx.file}: ${err.message}`;
  const e = (err ?? {}) as ListenError;
  if (e.syscall !== 'listen' && e.code !== 'ENOTFOUND' && e.code !== 'EAI_AGAIN') return null;
  const port = typeof e.port === 'number' ? e.port : ctx.config.http.port;
  const host = typeof e.address === 'string' ? e.address : ctx.config.http.host;
  const o = owner(ctx, port);
  switch (e.code) {
    case 'EADDRINUSE':
      return `${o.what} is already in use on ${host}; stop the other process or ${change(ctx, o)}`;
    case 'EACCES':
      return `no permission to listen on ${o.what} on ${host} (ports below 1024 need privileges); ${change(ctx, o)} with a port above 1023`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine; set http.host in ${ctx.file} to one of its addresses (0.0.0.0 for all)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host name ${JSON.stringify(e.hostname ?? host)}; set http.host in ${ctx.file} to an address of this machine (0.0.0.0 for all)`;
    default:
      return null;
  }
}
