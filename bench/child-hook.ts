/**
 * Child-process side of the bench: loaded with `--import` into every Node child, the relay
 * included (`node --expose-gc --import tsx --import ./bench/child-hook.ts src/main.ts …`), and
 * imported by the bench's own children for {@link serve}.
 *
 * Importing it installs two hooks and changes nothing else in the process:
 * - SIGUSR2 runs a full GC (when started with --expose-gc), so the orchestrator can measure
 *   memory per idle connection after a collection instead of whenever V8 felt like one;
 * - losing the IPC channel to the orchestrator (it exited or was killed, even with SIGKILL)
 *   exits the child, so no relay, simulator or load generator outlives the bench;
 * - an IPC `__memory` request is answered with `process.memoryUsage()`.
 */

type GcFn = (opts?: { type: 'major' | 'minor'; execution: 'sync' | 'async' }) => void;

const gc = (globalThis as { gc?: GcFn }).gc;
process.on('SIGUSR2', () => {
  gc?.();
});

if (process.channel) {
  process.on('disconnect', () => process.exit(0));
  // `__memory` works in any hooked child, the relay included: JS heap vs RSS per connection.
  process.on('message', (raw: unknown) => {
    const req = raw as Request;
    if (req.op === '__memory' && req.id !== undefined) process.send?.({ id: req.id, ok: true, result: process.memoryUsage() });
  });
  // The channel must not keep a finished child alive; servers are kept alive by their sockets.
  process.channel.unref();
}

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
