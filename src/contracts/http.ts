/**
 * The HTTP shapes of the contracts: the calls an upstream link makes through the core, and the
 * plain requests and routes a listener serves on the relay's port (token and ticket endpoints).
 */

export interface HttpCall {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Defaults to limits.httpTimeoutMs. */
  timeoutMs?: number;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the body was JSON, else undefined. */
  json: unknown;
  text: string;
}

/** A plain HTTP request on the relay's port (token and ticket endpoints). */
export interface HttpRequest {
  method: string;
  path: string;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  remoteAddress: string;
  /**
   * The scheme the client used as a trusted proxy reports it (X-Forwarded-Proto), present only when
   * the TCP peer is one of `http.trustedProxies`: anyone else could name any scheme.
   */
  readonly forwardedProto?: 'http' | 'https';
}

export interface HttpResponse {
  status: number;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as text/plain when `json` is absent. */
  text?: string;
  headers?: Record<string, string>;
}

export interface HttpRoute {
  method: 'GET' | 'POST';
  /** Path pattern with `:param` segments. */
  path: string;
  /**
   * The route checks a credential (a token or ticket endpoint). The core then counts its 401 and
   * 403 answers as failed authentications of the caller's address, and answers 429 without
   * running `handle` while that address has failed too often (`limits.authFailuresPerAddress`).
   */
  credential?: boolean;
  /** Answered whatever the Host header says (probes: /healthz, /readyz, /metrics); core routes only. */
  anyHost?: boolean;
  handle(req: HttpRequest): Promise<HttpResponse> | HttpResponse;
}
