/**
 * A dashboard's command across a change of link owner. Between two owners nobody serves the link's
 * command subject for a moment (the old owner dropped it, the new one has not taken the lease
 * yet): the request is asked again, with short growing pauses, until someone answers or
 * `timeoutMs` has passed in all. Only "no responder" is asked again; any answer, including the
 * owner's own "upstream link is down", is the answer.
 */
import type { Clock } from '../clock.ts';
import type { BridgeCommand, CommandReply } from '../events.ts';
import { isNoResponder, type Bus } from './bus.ts';

/** First pause after a request nobody served; doubled up to {@link MAX_PAUSE_MS}. */
export const FIRST_PAUSE_MS = 25;
export const MAX_PAUSE_MS = 250;

export async function requestUntilServed(bus: Bus, subject: string, command: BridgeCommand, timeoutMs: number, clock: Clock): Promise<CommandReply> {
  const deadline = clock.now() + timeoutMs;
  const nobody: CommandReply = { ok: false, code: 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE', message: `no owner of this upstream link answered within ${timeoutMs} ms` };
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    const reply = await bus.request(subject, command, Math.max(1, deadline - clock.now()));
    // Timed out on what was left of the whole wait: say the whole wait.
    if (!reply.ok && reply.code === 'BRIDGE_ERR_COMMAND_TIMEOUT') return { ...reply, message: `no reply within ${timeoutMs} ms` };
    if (!isNoResponder(reply)) return reply;
    const left = deadline - clock.now();
    if (left <= 0) return nobody;
    await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(pause, left)));
    if (deadline - clock.now() <= 0) return nobody;
    pause = Math.min(MAX_PAUSE_MS, pause * 2);
  }
}
