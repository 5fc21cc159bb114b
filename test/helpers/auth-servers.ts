/**
 * The servers an authentication test stands up itself, on port 0: a JWKS endpoint whose key set
 * the test rotates, and a connect hook that grants, refuses, stalls or is down on the test's word.
 * Each counts the requests it answered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256' | 'EdDSA';
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  /** The public key as PEM (SPKI), for `auth.jwt.publicKeys`. */
  readonly pem: string;
}

export async function signingKey(kid: string, alg: SigningKey['alg'] = 'RS256'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk, pem: await exportSPKI(publicKey) };
}

/** Signs an app token: `sub` names the client, `grants` its grants, `exp` seconds since the epoch. */
export function appToken(key: SigningKey | Uint8Array, claims: Record<string, unknown>): Promise<string> {
  const jwt = new SignJWT(claims);
  if (key instanceof Uint8Array) return jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
  return jwt.setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

export class JwksServer {
  url = '';
  fetches = 0;
  #keys: SigningKey[] = [];
  readonly #server = createServer((_req, res) => {
    this.fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: this.#keys.map((k) => k.jwk) }));
  });

  static async start(keys: SigningKey[]): Promise<JwksServer> {
    const s = new JwksServer();
    s.#keys = keys;
    s.url = `${await listen(s.#server)}/.well-known/jwks.json`;
    return s;
  }

  /** Serves `keys` from now on (a rotation). */
  rotate(keys: SigningKey[]): void {
    this.#keys = keys;
  }

  close(): Promise<void> {
    return close(this.#server);
  }
}

export type HookMode = 'answer' | 'slow' | 'down';

export interface HookCall {
  credential: string;
  context: Record<string, unknown>;
  authorization: string | undefined;
}

/**
 * A connect hook: `principals` maps a credential to `{name, grants, ttlSeconds}`; any other
 * credential is refused with 403. `mode` `slow` never answers; `down` resets the connection.
 */
export class HookServer {
  url = '';
  readonly calls: HookCall[] = [];
  mode: HookMode = 'answer';
  readonly principals = new Map<string, { name: string; grants: unknown[]; ttlSeconds: number }>();
  readonly #server = createServer((req, res) => void this.#handle(req, res));

  static async start(): Promise<HookServer> {
    const s = new HookServer();
    s.url = `${await listen(s.#server)}/auth`;
    return s;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    if (this.mode === 'down') return void req.socket.destroy();
    const parsed = JSON.parse(body) as { credential: string; context: Record<string, unknown> };
    this.calls.push({ ...parsed, authorization: req.headers.authorization });
    if (this.mode === 'slow') return; // never answers; the relay's timeout decides
    const principal = this.principals.get(parsed.credential);
    res.writeHead(principal ? 200 : 403, { 'content-type': 'application/json' });
    res.end(JSON.stringify(principal ?? { error: 'refused' }));
  }

  close(): Promise<void> {
    return close(this.#server);
  }
}
