/**
 * The fuzz relay's credentials, and the set of every credential a run handed out or minted, so a
 * property can say whether any of them reached a log line, the /metrics text or an error body.
 *
 * Fixed secrets are looked for as substrings. Minted ones (JWTs, tickets, relay-issued tokens) are
 * too many for that: each is split where a log would split it (`.` between JWT parts, quotes,
 * spaces) and its parts are kept in a set; a text is cut into runs of token characters and each
 * run is looked up. The secrets minted by the current batch are also looked for as substrings.
 */
import { createHmac } from 'node:crypto';

export const S1 = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
export const S2 = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
/** The server whose console the watchers follow; no fuzz case holds a token for it. */
export const SW = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
export const PANEL_SERVERS = ['607c71907be61b381db28144', '614635a7e671a3df0a12154b'] as const;
export const GUILD = '328842643746324481';

export const KEYS = {
  /** Granted every upstream (the fuzz cases' valid key). */
  fuzz: 'ptlc_fuzz_all_key_5f2b9c81d7e04a63',
  /** Granted one Wings server, connect only. */
  narrow: 'ptlc_fuzz_narrow_key_0e7d3a91c4b2',
  /** The watchers' key: the watched server only. Never sent by a fuzz case. */
  watch: 'ptlc_fuzz_watch_key_8a41f06b2d9e',
} as const;
export const JWT_SECRET = 'fuzz-relay-jwt-secret-3c9e71a04b';
export const WRONG_JWT_SECRET = 'not-the-relay-secret-7d1e';
/** Upstream credentials: the Wings panel key and node token, the Felix token, the Semoxy session. */
export const UPSTREAM = {
  wingsApiKey: 'ptlc_upstream_wings_panel_key_62c0e9',
  wingsNodeToken: 'upstream-wings-node-token-b84f1d',
  felixToken: 'upstream-felix-bot-token-91ad3c57e2',
  panelSession: 'upstream-semoxy-session-0f6b2e8d14',
} as const;

const FIXED: readonly string[] = [...Object.values(KEYS), JWT_SECRET, ...Object.values(UPSTREAM)];

/** Parts shorter than this are not secrets on their own (a JWT header is shared by all). */
const MIN_PART = 16;
/** Minted secrets also looked for as substrings. */
const RECENT = 256;
const RUN = /[A-Za-z0-9_+/=-]{16,}/g;

export class SecretBook {
  readonly #parts = new Set<string>();
  /** The last {@link RECENT} minted: looked for as substrings too (properties run at once share the book). */
  readonly #recent: string[] = [];
  #at = 0;
  minted = 0;

  /** Records a minted credential (a JWT's payload and signature parts; a ticket whole). */
  add(secret: string): void {
    if (secret.length < MIN_PART) return;
    this.minted += 1;
    this.#recent[this.#at] = secret;
    this.#at = (this.#at + 1) % RECENT;
    const parts = secret.split('.');
    // A JWT's header part is the same for every HS256 token: not a secret.
    for (const p of parts.length === 3 ? parts.slice(1) : parts) if (p.length >= MIN_PART) this.#parts.add(p);
  }

  /**
   * The first secret found in `text` (shortened for a message), or null. `minted: false` looks
   * for the fixed secrets only (a credential endpoint's 200 carries the credential it issued).
   */
  find(text: string, minted = true): string | null {
    for (const s of FIXED) if (text.includes(s)) return s;
    if (!minted) return null;
    for (const s of this.#recent) if (text.includes(s)) return `${s.slice(0, 24)}…`;
    for (const m of text.matchAll(RUN)) {
      const run = m[0];
      if (this.#parts.has(run)) return `${run.slice(0, 24)}…`;
      // A part glued to neighbours by '=' or '+' or '/': look at the pieces too.
      for (const piece of run.split(/[+/=]/)) if (piece !== run && this.#parts.has(piece)) return `${piece.slice(0, 24)}…`;
    }
    return null;
  }
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** An HS256 JWT, signed synchronously (a generator cannot await). */
export function signHs256(secret: string, claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const head = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}
