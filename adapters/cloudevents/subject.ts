/**
 * Subscription subjects of the CloudEvents dialect, pure. A client names events in BUS form
 * relative to `<prefix>.evt.`: `<upstream>.<resource>.<id>.<event…>`, the id already escaped
 * exactly as src/subjects.ts escapes it (`%`, `.`, `*`, `>`, whitespace and control characters
 * as `%XX` of their UTF-8 bytes, upper-case hex; the empty id as `%`), with NATS wildcards
 * `*` (one token) and `>` (the rest) allowed in any position.
 *
 * A subject is refused unless it could match some event: tokens non-empty, `>` only last, no
 * wildcard character inside a token, an upstream name, lower-case resource and event tokens, and
 * an id in the one escaped spelling the bus uses (so `a%2Eb` is accepted, `a%2eb` is not).
 */
import { escapeToken, unescapeToken } from '../../src/adapter-kit.ts';
import { SUBJECT_LIMITS, WILDCARDS } from './vocabulary.ts';

// The core's own escaping, event subject and NATS matching; re-exported so the dialect's subject
// rules read as one module (the simulator and the codec tests import them from here).
export { eventSubject, subjectMatches, unescapeToken } from '../../src/adapter-kit.ts';

/** A checked subject, with what the grant check needs to know. */
export interface ParsedSubject {
  /** The subject as the client wrote it. */
  readonly subject: string;
  readonly tokens: readonly string[];
  /** The upstream name, or null when a wildcard covers every upstream. */
  readonly upstream: string | null;
  /** The unescaped resource id, or null when a wildcard covers every id. */
  readonly id: string | null;
}

export type SubjectCheck = { ok: true; parsed: ParsedSubject } | { ok: false; reason: string };

const UPSTREAM = /^[A-Za-z0-9_-]{1,64}$/;
const WORD = /^[a-z]+$/;
const FORBIDDEN_CHARS = /[\s\u0000-\u001f\u007f-\u009f]/u;

function isWildcard(token: string): boolean {
  return token === WILDCARDS.one || token === WILDCARDS.rest;
}

/** Checks one token against the rule of its position (0 upstream, 1 resource, 2 id, 3+ event). */
function tokenProblem(token: string, position: number): string | null {
  if (isWildcard(token)) return null;
  if (token.includes(WILDCARDS.one) || token.includes(WILDCARDS.rest)) return `token ${position + 1} mixes a wildcard with text`;
  if (position === 0) return UPSTREAM.test(token) ? null : 'the upstream token is not an upstream name';
  if (position === 2) {
    const raw = unescapeToken(token);
    return raw !== null && escapeToken(raw) === token ? null : 'the id token is not escaped the way the bus escapes ids';
  }
  return WORD.test(token) ? null : `token ${position + 1} is not a lower-case word`;
}

/** Validates a client's subject. Pure; never throws, whatever it is given. */
export function parseSubject(subject: unknown): SubjectCheck {
  if (typeof subject !== 'string' || subject === '') return { ok: false, reason: 'the subject is empty' };
  if (subject.length > SUBJECT_LIMITS.maxLength) return { ok: false, reason: `the subject is longer than ${SUBJECT_LIMITS.maxLength} characters` };
  if (FORBIDDEN_CHARS.test(subject)) return { ok: false, reason: 'the subject contains whitespace or control characters' };
  const tokens = subject.split('.');
  if (tokens.length > SUBJECT_LIMITS.maxTokens) return { ok: false, reason: `the subject has more than ${SUBJECT_LIMITS.maxTokens} tokens` };
  const rest = tokens.indexOf(WILDCARDS.rest);
  if (rest !== -1 && rest !== tokens.length - 1) return { ok: false, reason: '">" may only be the last token' };
  if (tokens.some((t) => t === '')) return { ok: false, reason: 'the subject has an empty token' };
  if (rest === -1 && tokens.length < SUBJECT_LIMITS.minLiteralTokens) {
    return { ok: false, reason: 'the subject needs <upstream>.<resource>.<id>.<event…> (or ">" at the end)' };
  }
  for (let i = 0; i < tokens.length; i++) {
    const problem = tokenProblem(tokens[i]!, i);
    if (problem) return { ok: false, reason: problem };
  }
  // A subject this short ends in `>`, which covers every id (and at position 0 every upstream too).
  const upstreamToken = tokens[0]!;
  const idToken = tokens[2] ?? WILDCARDS.rest;
  return {
    ok: true,
    parsed: {
      subject,
      tokens,
      upstream: isWildcard(upstreamToken) ? null : upstreamToken,
      id: isWildcard(idToken) ? null : unescapeToken(idToken),
    },
  };
}

/** The same subject with its upstream token replaced (expanding an upstream wildcard). */
export function withUpstream(parsed: ParsedSubject, upstream: string): string {
  const [first, ...others] = parsed.tokens;
  // `>` alone means every upstream and everything below it.
  if (first === WILDCARDS.rest) return `${escapeToken(upstream)}.${WILDCARDS.rest}`;
  return [escapeToken(upstream), ...others].join('.');
}
