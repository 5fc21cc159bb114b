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
