/**
 * API clients (config `clients`): key lookup in constant time, grants per upstream resource, and
 * the swap a config reload makes. Grants are looked up by the client's name in the config in force,
 * so a session that kept an `ApiClient` from before a reload is answered with today's grants.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiClient, ClientDirectory, Grant } from '../contracts.ts';
import type { ClientConfig } from '../config/schema.ts';
import { grantPermissions } from './grants.ts';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** One config's clients: keys as SHA-256 digests, clients by name. Immutable. */
export class ClientSnapshot {
  readonly #entries: readonly { digest: Buffer; client: ApiClient }[];
  readonly #byName: ReadonlyMap<string, ApiClient>;

  constructor(clients: readonly ClientConfig[]) {
    this.#entries = clients.map((c) => ({
      digest: digest(c.key),
      client: Object.freeze({ name: c.name, grants: Object.freeze(c.grants.map((g) => Object.freeze({ ...g }))) as readonly Grant[] }) satisfies ApiClient,
    }));
    this.#byName = new Map(this.#entries.map((e) => [e.client.name, e.client]));
  }

  authenticate(key: string): ApiClient | null {
    const d = digest(key);
    let found: ApiClient | null = null;
    // Compare against every entry so the time taken does not say which key was close.
    for (const e of this.#entries) if (timingSafeEqual(d, e.digest) && !found) found = e.client;
    return found;
  }

  /** The client of this config named `name`, if any. */
  named(name: string): ApiClient | undefined {
    return this.#byName.get(name);
  }

  names(): IterableIterator<string> {
    return this.#byName.keys();
  }

  /** The union of the permissions of every grant of client `name` that covers `id` of `upstream`; null without one. */
  permissionsFor(name: string, upstream: string, id: string): readonly string[] | null {
    const client = this.#byName.get(name);
    return client ? grantPermissions(client.grants, upstream, id) : null;
  }
}

/** What {@link ClientRegistry.bind} found: bound, not a configured client, or withdrawn by a reload. */
export type Binding = 'bound' | 'unknown' | 'withdrawn';

/** The relay's client directory: the clients in force, replaced whole by a reload. */
export class ClientRegistry implements ClientDirectory {
  #current: ClientSnapshot;
  /** Names a reload removed (and no later one brought back): their old tokens and tickets are refused. */
  readonly #retired = new Set<string>();
  #generation = 0;

  constructor(clients: readonly ClientConfig[]) {
    this.#current = new ClientSnapshot(clients);
  }

  get current(): ClientSnapshot {
    return this.#current;
  }

  get generation(): number {
    return this.#generation;
  }

  authenticate(key: string): ApiClient | null {
    return this.#current.authenticate(key);
  }

  /** A configured client's by its name in the config in force; another source's principal's from its own grants. */
  permissionsFor(client: ApiClient, upstream: string, id: string): readonly string[] | null {
    if (client.source !== undefined) return grantPermissions(client.grants, upstream, id);
    return this.#current.permissionsFor(client.name, upstream, id);
  }

  /** Puts `clients` in force; returns the snapshot they replaced (to find what was withdrawn). */
  replace(clients: readonly ClientConfig[]): ClientSnapshot {
    const before = this.#current;
    const after = new ClientSnapshot(clients);
    for (const name of before.names()) if (!after.named(name)) this.#retired.add(name);
    for (const name of after.names()) this.#retired.delete(name);
    this.#current = after;
    this.#generation += 1;
    return before;
  }

  /**
   * Whether a session may act for `name` (on resource `on`, when given) under the config in force:
   * `unknown` for a name no config of this process ever had (a token from elsewhere).
   */
  bind(name: string, on?: { readonly upstream: string; readonly id: string }): Binding {
    if (!this.#current.named(name)) return this.#retired.has(name) ? 'withdrawn' : 'unknown';
    if (on && this.#current.permissionsFor(name, on.upstream, on.id) === null) return 'withdrawn';
    return 'bound';
  }
}

/** Builds the directory. Keys are kept only as SHA-256 digests, compared with timingSafeEqual. */
export function clientDirectory(clients: readonly ClientConfig[]): ClientRegistry {
  return new ClientRegistry(clients);
}

/** The key of an `Authorization: Bearer <key>` (or `Token <key>`) header, if any. */
export function bearerKey(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(?:Bearer|Token)\s+(.+)$/i.exec(header.trim());
  return m?.[1] ? m[1] : null;
}
