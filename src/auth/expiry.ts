/**
 * The end of a session whose credential expires (an app JWT's `exp`). Only principals with an
 * `expiresAt` arm anything: one clock timer per such session, cancelled by the session's `onClose`,
 * so a closed session is not kept alive by its timer. Time is the injected clock's.
 */
import type { Clock, Timer } from '../clock.ts';
import type { ApiClient, SessionIO } from '../contracts.ts';

const MAX_DELAY_MS = 2 ** 31 - 1;
const NOTHING = (): void => {};

/**
 * Calls `onExpired` (default: close 4116 BRIDGE_ERR_CREDENTIAL_EXPIRED) once `principal` expired,
 * unless the session closed first. Returns the cancel.
 */
export function expireWith(clock: Clock, io: SessionIO, principal: ApiClient, onExpired?: () => void, expired?: () => void): () => void {
  const at = principal.expiresAt;
  if (at === undefined) return NOTHING;
  let timer: Timer;
  const fire = (): void => {
    if (io.closed) return;
    // Node's timers wrap past 2^31-1 ms (~24.8 days): a longer wait is taken in steps.
    if (clock.now() < at) return void (timer = arm());
    expired?.();
    if (onExpired) onExpired();
    else io.close('BRIDGE_ERR_CREDENTIAL_EXPIRED');
  };
  const arm = (): Timer => clock.setTimeout(fire, Math.min(MAX_DELAY_MS, Math.max(0, at - clock.now())));
  timer = arm();
  return () => timer.cancel();
}

/**
 * Asks `stillGood` every `periodMs` while the session is open; once it answers false, calls
 * `end` (once). One timer per session, re-armed after each answer, cancelled by the returned cancel.
 */
export function recheckEvery(clock: Clock, io: SessionIO, periodMs: number, stillGood: () => Promise<boolean>, end: () => void): () => void {
  let timer: Timer | null = null;
  let cancelled = false;
  const tick = async (): Promise<void> => {
    if (cancelled || io.closed) return;
    const good = await stillGood().catch(() => true);
    if (cancelled || io.closed) return;
    if (!good) return end();
    timer = clock.setTimeout(() => void tick(), periodMs);
  };
  timer = clock.setTimeout(() => void tick(), periodMs);
  return () => {
    cancelled = true;
    timer?.cancel();
  };
}
