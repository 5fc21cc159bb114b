/**
 * The bench's own children (publisher, load generator, baseline server) import this for
 * {@link serve}; importing it also installs the process hooks of process-hook.mjs (exit when the
 * orchestrator is gone, `__memory` over IPC with an optional full GC first).
 */
import './process-hook.mjs';

/** One request from the orchestrator: `{ id, op, args }`; `id` is absent for fire-and-forget. */
export interface Request {
  id?: number;
  op: string;
  args?: unknown;
}

export type Handler = (args: any) => unknown;

/**
 * Answers orchestrator requests with `{ id, ok, result }` or `{ id, ok: false, error }`.
 * Handlers may be async; fire-and-forget messages (no id) run in arrival order, synchronously
 * when the handler is, which is what the publisher's bursts rely on.
 */
export function serve(handlers: Record<string, Handler>): void {
  if (!process.send) throw new Error('bench child started without an IPC channel');
  process.channel?.ref();
  process.on('message', (raw: unknown) => {
    const req = raw as Request;
    if (req.op.startsWith('__')) return; // answered by the hook above
    const handler = handlers[req.op];
    const reply = (msg: Record<string, unknown>) => {
      if (req.id !== undefined && process.connected) process.send!({ id: req.id, ...msg });
    };
    if (!handler) return reply({ ok: false, error: `unknown op ${req.op}` });
    try {
      const out = handler(req.args);
      if (out instanceof Promise) {
        out.then(
          (result) => reply({ ok: true, result }),
          (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
        );
      } else {
        reply({ ok: true, result: out });
      }
    } catch (err) {
      reply({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  });
}

/** Tells the orchestrator the child is up (after its servers listen). */
export function announce(info: Record<string, unknown>): void {
  process.send?.({ event: 'ready', ...info });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
