/**
 * What the downstream server asks of the rest of the relay: where a session's commands and
 * history reads go (the bus, to whichever node holds the link), and what /readyz reports.
 */
import type { Clock } from '../clock.ts';
import type { Bus } from '../bus/bus.ts';
import { requestUntilServed } from '../bus/request-until-served.ts';
import type { BridgeConfig } from '../config/schema.ts';
import type { SessionBackend } from '../downstream/session-shared.ts';
import type { Subjects } from '../subjects.ts';
import type { LinkStatus, Supervisor } from '../upstream/supervisor.ts';

export function sessionBackend(p: { config(): BridgeConfig; bus: Bus; subjects: Subjects; supervisor: Supervisor; clock: Clock }): SessionBackend {
  return {
    /**
     * A dashboard's command, to whichever node holds the link. Every node has the same config, so
     * a resource unknown here is unknown everywhere: answered at once. Between owners nobody
     * serves the subject; the request is then asked again until `limits.commandTimeoutMs`.
     */
    request: (cmd) => {
      const known = p.supervisor.resources().some((r) => r.upstream === cmd.upstream && r.resource === cmd.resource && r.id === cmd.id);
      if (!known) return Promise.resolve({ ok: false, code: 'BRIDGE_ERR_NOT_FOUND', message: 'no such upstream resource' });
      const subject = p.subjects.command(cmd.upstream, cmd.resource, cmd.id);
      return requestUntilServed(p.bus, subject, cmd, p.config().limits.commandTimeoutMs, p.clock);
    },
    history: (subject, limit) => p.bus.history(subject, limit),
    last: (subject) => p.bus.last(subject),
  };
}

export interface ReadinessFacts {
  ready: boolean;
  draining: boolean;
  bus: Bus;
  node: string;
  sessions: number;
  upstreams: Record<string, LinkStatus[]>;
}

/** The /readyz answer: ready or not, why not, and the state of the bus, sessions and links. */
export function readiness(f: ReadinessFacts): { ready: boolean; detail: Record<string, unknown> } {
  const { bus, ready } = f;
  const reason = ready
    ? undefined
    : f.draining
      ? 'draining'
      : bus.state !== 'connected'
        ? `bus ${bus.state}${bus.lastError ? `: ${bus.lastError}` : ''}`
        : 'starting';
  return {
    ready,
    detail: {
      ...(reason ? { reason } : {}),
      node: f.node,
      draining: f.draining,
      bus: { kind: bus.kind, state: bus.state, ...(bus.lastError ? { lastError: bus.lastError } : {}) },
      sessions: f.sessions,
      upstreams: f.upstreams,
    },
  };
}
