/**
 * HS256 JWTs (jose), with time from the injected clock so token expiry is testable.
 * Verification reports *why* a token failed, because protocols answer each case differently.
 */
import { SignJWT, jwtVerify, decodeJwt, errors as joseErrors, type JWTPayload } from 'jose';
import type { Clock } from '../clock.ts';
import type { TokenPolicy } from '../contracts.ts';

export type JwtClaims = JWTPayload & Record<string, unknown>;

export type JwtCheck =
  | { ok: true; claims: JwtClaims }
  | { ok: false; error: 'malformed' | 'signature' | 'expired' | 'not_yet_valid' | 'issued_in_future' | 'lifetime'; claims?: JwtClaims };

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Signs `claims` with HS256. `iat` defaults to the clock's now; `exp` must be given by the caller. */
export async function signJwt(secret: string, claims: JwtClaims, clock: Clock): Promise<string> {
  const iat = typeof claims.iat === 'number' ? claims.iat : Math.floor(clock.now() / 1000);
  return new SignJWT({ ...claims, iat }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key(secret));
}

/**
 * Verifies signature and time claims against the clock. Never throws.
 *
 * With a `policy` (tokens the relay issued itself), the time claims must also be sane: `iat` at
 * most `clockSkewSeconds` ahead of the clock (`issued_in_future`), and a numeric `exp` at most
 * `maxLifetimeSeconds` after `iat`, or after now when `iat` is absent (`lifetime`). A leaked
 * signing secret, or a bug in an issuer, then cannot mint tokens that outlive every rotation.
 *
 * `leewaySeconds` widens `exp` and `nbf` by that much: a Wings listener passes 1, since Wings
 * compares `exp` with the current time truncated to whole seconds (a token works until exp + 1 s).
 */
export async function verifyJwt(secret: string, token: string, clock: Clock, policy?: TokenPolicy, leewaySeconds = 0): Promise<JwtCheck> {
  try {
    const { payload } = await jwtVerify(token, key(secret), {
      algorithms: ['HS256'],
      currentDate: new Date(clock.now()),
      ...(leewaySeconds > 0 ? { clockTolerance: leewaySeconds } : {}),
    });
    const claims = payload as JwtClaims;
    if (policy) {
      const now = Math.floor(clock.now() / 1000);
      const { iat, exp } = claims;
      if (typeof iat === 'number' && iat > now + policy.clockSkewSeconds) return { ok: false, error: 'issued_in_future', claims };
      if (typeof exp !== 'number' || exp - (typeof iat === 'number' ? iat : now) > policy.maxLifetimeSeconds) return { ok: false, error: 'lifetime', claims };
    }
    return { ok: true, claims };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { ok: false, error: 'expired', claims: err.payload as JwtClaims };
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf') {
      return { ok: false, error: 'not_yet_valid', claims: err.payload as JwtClaims };
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) return { ok: false, error: 'signature' };
    return { ok: false, error: 'malformed' };
  }
}

/** Reads claims without verifying (for a client that wants to know its own token's expiry). */
export function peekJwt(token: string): JwtClaims | null {
  try {
    return decodeJwt(token) as JwtClaims;
  } catch {
    return null;
  }
}
