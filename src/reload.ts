/**
 * A config reload of one relay: `next` is put in force in place when it differs from the config in
 * force only in what can change safely (src/config/reload-plan.ts), else refused whole, and the old
 * config stays. In place, in this order, once nothing can fail any more:
 *
 * - `http.tls`: the certificate and key are read again (a renewed pair on disk is picked up even
 *   when the config did not change) and served to new connections; a pair that cannot be used
 *   makes the reload `invalid`, before anything changed;
 * - `clients`: keys and grants are replaced (ClientRegistry), and every session bound to a client
 *   (SessionIO.bindPrincipal) that lost the client or a permission its subscriptions use is closed
 *   with 4403 "grant withdrawn" (src/auth/withdrawn.ts);
 * - the live `limits`: admission, every listener's session limits and deadlines, the interest
 *   window, the token policy; the command timeout, `http.publicUrl` and `http.shutdownGraceMs` are
 *   read from the config in force where they are used;
 * - `log.level`, last, so the line saying what changed is written under the old level.
 *
 * Every outcome is counted in `bridge_config_reloads_total{result}` and logged.
 */
import type { ClientRegistry } from './auth/clients.ts';
import { WithdrawalCheck } from './auth/withdrawn.ts';
import { planReload, type ReloadResult } from './config/reload-plan.ts';
import type { BridgeConfig } from './config/schema.ts';
import type { Log } from './contracts.ts';
import type { AddressAdmission } from './downstream/admission.ts';
import type { DownstreamServer } from './downstream/server.ts';
import { isRelayLog, type LogLevel } from './log.ts';
import type { Metrics } from './metrics.ts';
import { readTls, type TlsMaterial } from './tls.ts';
import type { InterestTable } from './upstream/interest.ts';

/** What a reload did: applied (with the changed keys), refused (with the keys that take a restart), or invalid. */
export interface ReloadOutcome {
  readonly result: ReloadResult;
  /** applied: the keys that changed; refused: the keys that take a restart (JSON paths). */
  readonly keys: readonly string[];
  /** refused or invalid: why, in words (never a secret). */
  readonly error?: string;
  /** invalid: the file's errors with their JSON paths. */
  readonly issues?: readonly { readonly path: string; readonly message: string }[];
  /** applied: sessions closed because their client lost a grant. */
  readonly closedSessions?: number;
}

/** The parts of a relay a reload changes, and its config in force. */
export interface ReloadParts {
  readonly log: Log;
  readonly metrics: Metrics;
  readonly server: DownstreamServer;
  readonly interest: InterestTable;
  readonly clients: ClientRegistry;
  readonly admission: AddressAdmission;
  /** The object every listener reads its token policy from. */
  readonly tokenPolicy: { clockSkewSeconds: number; maxLifetimeSeconds: number };
  /** The bus subject prefix (sessions' subscriptions are bus patterns). */
  readonly prefix: string;
  draining(): boolean;
  current(): BridgeConfig;
  put(next: BridgeConfig): void;
}

export class Reloader {
  readonly #p: ReloadParts;
  /** Reloads run one at a time, in the order they were asked for. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(parts: ReloadParts) {
    this.#p = parts;
  }

  reload(next: BridgeConfig): Promise<ReloadOutcome> {
    const run = this.#queue.then(() => this.#reload(next));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** A reload whose file did not load (the caller read it): counted and logged. */
  failed(error: string, issues?: ReloadOutcome['issues']): ReloadOutcome {
    return this.#done({ result: 'invalid', keys: [], error, ...(issues ? { issues } : {}) });
  }

  async #reload(next: BridgeConfig): Promise<ReloadOutcome> {
    const p = this.#p;
    if (p.draining()) return this.#done({ result: 'refused', keys: [], error: 'the relay is draining' });
    const plan = planReload(p.current(), next);
    if (plan.refused.length > 0) return this.#done({ result: 'refused', keys: plan.refused });
    let tls: TlsMaterial | undefined;
    if (next.http.tls) {
      try {
        tls = await readTls(next.http.tls);
      } catch (err) {
        return this.#done({ result: 'invalid', keys: [], error: `http.tls: ${(err as Error).message}` });
      }
      // A drain that began while the files were read wins.
      if (p.draining()) return this.#done({ result: 'refused', keys: [], error: 'the relay is draining' });
    }
    // From here on nothing can fail: the new config goes in whole.
    p.put(next);
    if (tls) p.server.host.setSecureContext(tls);
    const before = p.clients.replace(next.clients);
    const check = new WithdrawalCheck(before, p.clients.current, p.prefix);
    const withdrawn = p.server.withdraw((client, patterns) => check.withdrawn(client, patterns));
    if (withdrawn.closed > 0) p.log.warn('sessions closed: grant withdrawn', { sessions: withdrawn.closed, clients: withdrawn.clients });
    const limits = next.limits;
    p.admission.setLimits(limits);
    p.server.setLimits(limits);
    p.interest.coalesceMs = limits.interestCoalesceMs;
    p.tokenPolicy.clockSkewSeconds = limits.clockSkewSeconds;
    p.tokenPolicy.maxLifetimeSeconds = limits.maxTokenLifetimeSeconds;
    const outcome = this.#done({ result: 'applied', keys: plan.changed, closedSessions: withdrawn.closed });
    // After the line that says so, which the old level decides: a relay going quiet still tells.
    if (isRelayLog(p.log)) p.log.setLevel(next.log.level as LogLevel);
    return outcome;
  }

  #done(outcome: ReloadOutcome): ReloadOutcome {
    const { log, metrics, server } = this.#p;
    metrics.configReloads.inc({ result: outcome.result });
    const { result, keys, error } = outcome;
    if (result === 'applied') {
      log.info('config reloaded', { changed: keys, closedSessions: outcome.closedSessions ?? 0, tls: server.host.secure });
    } else if (result === 'refused' && keys.length > 0) {
      log.error(`config reload refused: ${keys.join(', ')} cannot change while the relay runs (restart it for that); the running config stays`, { refused: keys });
    } else {
      log.error(`config reload ${result}: ${error ?? 'unknown'}; the running config stays`, outcome.issues ? { issues: outcome.issues } : {});
    }
    return outcome;
  }
}
