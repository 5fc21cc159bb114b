/**
 * TLS on the one port (`http.tls`): where the certificate and key come from, reading them, and
 * checking that they make a TLS identity before a server is given them.
 *
 * The loaded config keeps a `{"file"}` certificate or key as its absolute path instead of its
 * contents (every other secret is resolved to its value at load): the relay reads the files when
 * it starts and again on `Relay.reloadTls()`, which is how a renewed certificate is picked up
 * without a restart. An inline or `{"env"}` value is read once, at load, like every secret.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

/** A PEM value itself, or the absolute path of a file holding it. */
export type PemSource = string | { readonly file: string };

/** `http.tls` after loading. */
export interface TlsConfig {
  readonly cert: PemSource;
  readonly key: PemSource;
}

/** The PEM texts a server is given. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/** A certificate or key that cannot be used; `part` says which, the message never quotes it. */
export class TlsError extends Error {
  override readonly name = 'TlsError';
  readonly part: 'cert' | 'key' | 'pair';
  constructor(part: 'cert' | 'key' | 'pair', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.part = part;
  }
}

/** OpenSSL's text without its `error:0480006C:PEM routines::` prefix. */
function opensslText(err: unknown): string {
  return String((err as Error)?.message ?? err).replace(/^error:[0-9A-F]+:[^:]*::?/, '');
}

function where(source: PemSource): string {
  return typeof source === 'string' ? 'the inline value' : source.file;
}

/**
 * Checks that `cert` holds a certificate, `key` a private key, and that they belong together.
 * Returns the problem, or null. Never quotes either value.
 */
export function checkTlsMaterial(m: TlsMaterial, sources?: TlsConfig): TlsError | null {
  try {
    new X509Certificate(m.cert);
  } catch (err) {
    return new TlsError('cert', `no PEM certificate in ${sources ? where(sources.cert) : 'the certificate'} (${opensslText(err)})`, { cause: err });
  }
  try {
    createPrivateKey(m.key);
  } catch (err) {
    return new TlsError('key', `no PEM private key in ${sources ? where(sources.key) : 'the key'} (${opensslText(err)})`, { cause: err });
  }
  try {
    createSecureContext(m);
  } catch (err) {
    return new TlsError('pair', `the certificate and the key do not go together (${opensslText(err)})`, { cause: err });
  }
  return null;
}

/** Reads a file-held certificate and key (at start); throws TlsError when they cannot be used. */
export function readTlsSync(tls: TlsConfig): TlsMaterial {
  const read = (part: 'cert' | 'key', s: PemSource) => {
    if (typeof s === 'string') return s;
    try {
      return readFileSync(s.file, 'utf8');
    } catch (err) {
      throw new TlsError(part, `cannot read ${s.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
  };
  const m = { cert: read('cert', tls.cert), key: read('key', tls.key) };
  const bad = checkTlsMaterial(m, tls);
  if (bad) throw bad;
  return m;
}

/** As {@link readTlsSync}, off the event loop (a reload while the relay serves). */
export async function readTls(tls: TlsConfig): Promise<TlsMaterial> {
  const read = async (part: 'cert' | 'key', s: PemSource) => {
    if (typeof s === 'string') return s;
    try {
      return await readFile(s.file, 'utf8');
    } catch (err) {
      throw new TlsError(part, `cannot read ${s.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
  };
  const [cert, key] = await Promise.all([read('cert', tls.cert), read('key', tls.key)]);
  const bad = checkTlsMaterial({ cert, key }, tls);
  if (bad) throw bad;
  return { cert, key };
}
