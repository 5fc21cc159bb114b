/**
 * Every interval of the NATS leases, derived from one number: T, the lease bucket's max age
 * (`cluster.leaseTtlMs`; nats-server 2.9 has no per-key TTL). The state machine that uses them is
 * nats-lease.ts; the spreading of links over nodes is balance.ts and presence.ts.
 *
 * ## Timing
 *
 *   R = T/5     renew period: the owner sends `update(key, record, revision)` every R.
 *   C = 0.8·R   every KV call times out after C < R, so calls never queue behind a hung one.
 *   F = T/2     self-fence: t_ok is the local (monotonic) time at which the last renewal that
 *               succeeded was *sent*. Once now − t_ok ≥ F the owner drops its socket at once
 *               (terminate, no close handshake, no retry) and stops claiming the link. The check
 *               runs on its own timer armed at t_ok + F, never behind a pending call.
 *   G = T/5     watchdog grace: a worker thread (watchdog.ts) SIGKILLs the process once
 *               t_ok + F + G has passed and the main thread still claims the lease (its loop
 *               stalled, or its fence timer ran late); the kernel then closes the socket.
 *
 * Why there are never two sockets for one link: the server stores a renewal after we sent it, so
 * that revision cannot age out before t_ok + T (server time). Another node can `create` the key
 * only once it is gone (or deleted by our release or hand-over, which come after our socket is
 * terminated), and connects only after its create was answered. Our socket is gone by t_ok + F
 * normally, and by t_ok + F + G + W (W = the watchdog's check period, T/40), i.e. t_ok + 0.725·T,
 * at the latest. The margin 0.275·T (2.75 s at the default 10 s) covers:
 *   - clock rates: our monotonic clock against the servers' clocks over T (parts per million);
 *   - skew between the NATS servers holding the bucket's replicas (a replica that becomes leader
 *     ages messages by its own clock) and forward steps of a NATS server's wall clock;
 *   - the upstream noticing our terminated socket (a FIN on loopback or a LAN: microseconds).
 * Assumed: NATS servers' clocks agree within a quarter of T and are not stepped forward by more;
 * the relay process is not paused as a whole (SIGSTOP, a frozen VM: the watchdog stops with it).
 *
 * Standby: a node learns the owner from the bucket's watcher (or a failed create) and tries
 * `create` at the local receipt time of the owner's last renewal + T (+ jitter), again every
 * T/20 while the entry it knows is still there, and at once when it sees a delete (a release).
 * When the watcher has said nothing of the owner for 1.5·R it tries (and so reads) anyway.
 *
 * ## Spreading (balance.ts, presence.ts)
 *
 *   P = R       presence heartbeat: every node puts its entry in `<PREFIX>_NODES` every P; a
 *               node not heard of for T (the presence bucket's max age) is gone.
 *   D = T/10    deferral: a standby that is not the link's preferred node adds D to each of its
 *               creates, so the preferred node wins whenever both are up.
 *   H = 2·T     hand-over: an owner that is not the preferred node any more, and has held the
 *               link for at least H, gives it up (terminates its socket, then deletes its entry:
 *               exactly a release, so the argument above holds unchanged); the preferred node
 *               creates at once on seeing the delete. H bounds the churn: a link moves at most
 *               once per H, however the nodes come and go.
 */

export interface LeaseTiming {
  /** T: the bucket's max age. */
  readonly ttlMs: number;
  /** R: renew period. */
  readonly renewMs: number;
  /** F: self-fence deadline after the send of the last successful renewal. */
  readonly fenceMs: number;
  /** C: timeout of every KV call (< R). */
  readonly callTimeoutMs: number;
  /** Retry period of a standby whose known entry outlived its expected expiry. */
  readonly retryMs: number;
  /** Upper bound of the random delay added to a standby's scheduled create. */
  readonly jitterMs: number;
  /** A standby that heard nothing of the owner's renewals for this long looks for itself. */
  readonly standbyCheckMs: number;
  /** G: the watchdog ends the process this long after a missed fence deadline. */
  readonly watchdogGraceMs: number;
  /** W: how often the watchdog looks. */
  readonly watchdogCheckMs: number;
  /** P: presence heartbeat period. */
  readonly presenceBeatMs: number;
  /** A node whose presence entry was not renewed for this long is gone (and the bucket's max age). */
  readonly presenceTtlMs: number;
  /** D: the delay a standby that is not the preferred node adds to its creates. */
  readonly deferMs: number;
  /** H: how long an owner that is not the preferred node keeps a link before handing it over. */
  readonly handOverAfterMs: number;
}

export function leaseTiming(ttlMs: number): LeaseTiming {
  const renewMs = Math.floor(ttlMs / 5);
  return {
    ttlMs,
    renewMs,
    fenceMs: Math.floor(ttlMs / 2),
    callTimeoutMs: Math.floor(renewMs * 0.8),
    retryMs: Math.max(20, Math.floor(ttlMs / 20)),
    jitterMs: Math.max(1, Math.floor(ttlMs / 20)),
    standbyCheckMs: Math.floor(renewMs * 1.5),
    watchdogGraceMs: renewMs,
    watchdogCheckMs: Math.max(10, Math.floor(ttlMs / 40)),
    presenceBeatMs: renewMs,
    presenceTtlMs: ttlMs,
    deferMs: Math.floor(ttlMs / 10),
    handOverAfterMs: 2 * ttlMs,
  };
}
