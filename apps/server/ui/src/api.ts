/**
 * The page's only way to the node: `GET` of the /v1 admin API with `Authorization: Bearer`,
 * and the /v1/events WebSocket with `?access_token=` (browsers cannot set headers on a
 * WebSocket). Credentials live in this object, in memory only: nothing is written to
 * localStorage, sessionStorage or cookies, and a reload asks again.
 */
import { explainFailure, type Failure } from './failure.js';
import {
  DASHBOARD_GRANTS,
  readTokenClaims,
  type SignedToken,
  signToken,
  TOKEN_RENEW_BEFORE_S,
  type TokenClaims,
} from './jwt.js';

/** A request the node does not answer within this is abandoned (the API's own default
 *  deadline is 5 s; a slow /v1/whatif over 100k rooms takes ~0.5 s). */
export const REQUEST_TIMEOUT_MS = 10_000;

export type Credentials =
  | { kind: 'secret'; apiKey: string; secret: string }
  | { kind: 'token'; token: string };

/** The node refused or failed a request; `failure` says why in words. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly failure: Failure,
  ) {
    super(failure.message);
  }
}

/** The node could not be reached. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

/** The API's root, from the page's address: `/ui/` -> `/`, also behind a path prefix. */
export function apiBase(pageUrl: string): URL {
  return new URL('../', pageUrl);
}

async function request(url: URL, headers: Record<string, string>): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? 'no answer in time' : 'unreachable';
    throw new NetworkError(`cannot reach the node at ${url.origin} (${reason})`);
  }
  const body = await response.text();
  if (!response.ok) {
    const type = response.headers.get('content-type') ?? '';
    throw new ApiError(response.status, explainFailure(response.status, type, body));
  }
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new ApiError(response.status, { kind: 'other', message: 'the node answered non-JSON' });
  }
}

/** An unauthenticated read (`/readyz`, `/ui/config.json`): the status and JSON body. */
export async function openGet(path: string): Promise<{ status: number; body: unknown }> {
  const url = new URL(path, apiBase(location.href));
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      cache: 'no-store',
      credentials: 'omit',
    });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { status: response.status, body };
  } catch {
    throw new NetworkError(`cannot reach the node at ${url.origin}`);
  }
}

export class Session {
  private signed: SignedToken | undefined;
  private signing: Promise<SignedToken> | undefined;
  private readonly base: URL;
  /** What a pasted token says about itself (for the header line). */
  readonly claims: TokenClaims | undefined;

  constructor(
    private readonly credentials: Credentials,
    pageUrl: string = location.href,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.base = apiBase(pageUrl);
    this.claims = credentials.kind === 'token' ? readTokenClaims(credentials.token) : undefined;
  }

  /** Who the page acts as, for the header. */
  get label(): string {
    if (this.credentials.kind === 'secret') return `API key ${this.credentials.apiKey}`;
    return `token of API key ${this.claims?.apiKey || '?'}`;
  }

  /** A token to send now: the pasted one, or one signed here and renewed before it expires. */
  async token(): Promise<string> {
    const c = this.credentials;
    if (c.kind === 'token') return c.token.trim();
    const nowS = this.nowMs() / 1_000;
    if (this.signed && this.signed.expS - nowS > TOKEN_RENEW_BEFORE_S) return this.signed.token;
    this.signing ??= signToken(c.apiKey, c.secret, DASHBOARD_GRANTS, this.nowMs()).finally(() => {
      this.signing = undefined;
    });
    this.signed = await this.signing;
    return this.signed.token;
  }

  /** GET `path` (e.g. `v1/status`) as JSON; throws ApiError or NetworkError. */
  async get<T>(path: string, params?: URLSearchParams): Promise<T> {
    const url = new URL(path, this.base);
    if (params) url.search = params.toString();
    const token = await this.token();
    return (await request(url, { authorization: `Bearer ${token}` })) as T;
  }

  /** The event stream's address, with a fresh token in the query. */
  async eventsUrl(): Promise<string> {
    const url = new URL('v1/events', this.base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('access_token', await this.token());
    return url.toString();
  }
}
