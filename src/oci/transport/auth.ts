// Registry authentication: remembers which scheme each host challenged with, sends Basic
// credentials directly, and fetches Bearer tokens from the realm (cached per host and scope
// until they expire). The HTTP round trip is injected, so this file knows no sockets.
import { AuthError, EcrctlError } from '../../errors.js';
import type { RegistryCredential, RegistryCredentialProvider } from './credentials.js';
import type { AuthChallenge } from './www-authenticate.js';

/** What the authenticator needs from the transport: one plain request, no auth, no retry. */
export type TokenFetch = (req: {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}) => Promise<{ status: number; text: string }>;

type HostScheme = { kind: 'basic' } | { kind: 'bearer'; realm: string; service?: string };

interface CachedToken {
  value: string;
  expiresAt: number;
}

/** Tokens are treated as expired this long before they say, so a slow request still fits. */
const EXPIRY_MARGIN_MS = 10_000;
/** The distribution spec's default token lifetime when the server does not say. */
const DEFAULT_TOKEN_SECONDS = 60;

export interface AuthenticatorOptions {
  credentials?: RegistryCredentialProvider;
  /** Hosts that take Basic without being asked: no anonymous first request, no 401. */
  presumeBasic?: (host: string) => boolean;
  fetchToken: TokenFetch;
  onSecret?: (secret: string) => void;
  log?: (message: string) => void;
  now?: () => number;
  /** Throws when credentials for host must not be sent to url (plain HTTP off loopback). */
  checkCredentialUrl?: (host: string, url: URL) => void;
}

/** Keeps per-host auth state for one client. */
export class Authenticator {
  readonly #opts: AuthenticatorOptions;
  readonly #schemes = new Map<string, HostScheme>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pending = new Map<string, Promise<CachedToken>>();
  readonly #now: () => number;

  constructor(opts: AuthenticatorOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Returns how many distinct tokens are cached (for tests and --verbose). */
  get cachedTokenCount(): number {
    return this.#tokens.size;
  }

  /**
   * Returns the Authorization header value for a request to host needing scopes, or
   * undefined while the host has not challenged us (first requests go anonymous, except to
   * hosts presumed to take Basic).
   */
  async header(host: string, scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    let scheme = this.#schemes.get(host);
    if (scheme === undefined && this.#opts.presumeBasic?.(host)) {
      scheme = { kind: 'basic' };
      this.#schemes.set(host, scheme);
    }
    if (scheme === undefined) return undefined;
    if (scheme.kind === 'basic') {
      const cred = await this.#credential(host);
      if (cred === undefined || !('username' in cred)) return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    }
    const token = await this.#token(host, scheme, scopes, signal);
    return `Bearer ${token.value}`;
  }

  /**
   * Records a 401's challenges for host; returns false when none is a scheme we speak
   * (Basic or Bearer). Bearer wins when both are offered.
   */
  challenge(host: string, challenges: readonly AuthChallenge[]): boolean {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const realm = bearer.params.realm!;
      this.#schemes.set(host, { kind: 'bearer', realm, service: bearer.params.service });
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.#schemes.set(host, { kind: 'basic' });
      return true;
    }
    return false;
  }

  /** Returns true when requests to host carry credentials or tokens (it challenged before). */
  knows(host: string): boolean {
    return this.#schemes.has(host);
  }

  /** Forgets the tokens of host for scopes and asks the provider to refresh its credential. */
  invalidate(host: string, scopes: readonly string[]): void {
    this.#tokens.delete(tokenKey(host, scopes));
    this.#opts.credentials?.invalidate?.(host);
  }

  async #credential(host: string): Promise<RegistryCredential | undefined> {
    const cred = await this.#opts.credentials?.get(host);
    if (cred !== undefined) this.#opts.onSecret?.('password' in cred ? cred.password : cred.identityToken);
    return cred;
  }

  async #token(
    host: string,
    scheme: Extract<HostScheme, { kind: 'bearer' }>,
    scopes: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<CachedToken> {
    const key = tokenKey(host, scopes);
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > this.#now()) return cached;
    // Concurrent requests for one scope share one token fetch.
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#fetch(host, scheme, scopes, signal).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const token = await pending;
    this.#tokens.set(key, token);
    return token;
  }

  async #fetch(
    host: string,
    scheme: Extract<HostScheme, { kind: 'bearer' }>,
    scopes: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(scheme.realm);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    } catch (cause) {
      throw new AuthError(`${host} named a token realm that is not an http(s) URL: ${scheme.realm}`, { cause });
    }
    const cred = await this.#credential(host);
    if (cred !== undefined) this.#opts.checkCredentialUrl?.(host, url);
    const headers: Record<string, string> = { accept: 'application/json' };
    let res: { status: number; text: string };
    const sortedScopes = [...new Set(scopes)].sort();
    if (cred !== undefined && 'identityToken' in cred) {
      // OAuth2 refresh-token grant, as Docker does with an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken });
      form.set('client_id', 'ecrctl');
      if (scheme.service) form.set('service', scheme.service);
      if (sortedScopes.length > 0) form.set('scope', sortedScopes.join(' '));
      headers['content-type'] = 'application/x-www-form-urlencoded';
      this.#opts.log?.(`auth: POST ${url.origin}${url.pathname} (refresh token) for ${host}`);
      res = await this.#opts.fetchToken({ url, method: 'POST', headers, body: form.toString(), signal });
    } else {
      if (scheme.service) url.searchParams.set('service', scheme.service);
      for (const s of sortedScopes) url.searchParams.append('scope', s);
      if (cred !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      }
      this.#opts.log?.(
        `auth: GET ${url.origin}${url.pathname} scope=${sortedScopes.join(' ') || '(none)'}${cred ? ' as ' + cred.username : ' anonymously'}`,
      );
      res = await this.#opts.fetchToken({ url, method: 'GET', headers, signal });
    }
    if (res.status === 401 || res.status === 403) {
      throw new AuthError(
        cred === undefined
          ? `${host} requires credentials (its token server at ${url.origin} refused an anonymous request)`
          : `the token server of ${host} at ${url.origin} refused the credentials`,
        { value: host, fix: `run \`ecrctl login\` (or \`docker login ${host}\`) and try again` },
      );
    }
    if (res.status < 200 || res.status > 299) {
      throw new AuthError(`the token server of ${host} at ${url.origin} answered ${res.status}`, { value: host });
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch (cause) {
      throw new EcrctlError(`the token server of ${host} answered something that is not JSON`, { cause });
    }
    const value =
      typeof body.token === 'string' && body.token !== ''
        ? body.token
        : typeof body.access_token === 'string'
          ? body.access_token
          : '';
    if (value === '') throw new EcrctlError(`the token server of ${host} answered without a token`);
    this.#opts.onSecret?.(value);
    const seconds =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    const issued = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : Number.NaN;
    const start = Number.isFinite(issued) && issued <= this.#now() ? issued : this.#now();
    const expiresAt = start + seconds * 1000 - Math.min(EXPIRY_MARGIN_MS, (seconds * 1000) / 2);
    return { value, expiresAt };
  }
}

/** Returns the scope string for actions on a repository, e.g. `repository:team/app:pull,push`. */
export function repositoryScope(repository: string, actions: readonly ('pull' | 'push' | 'delete')[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

function tokenKey(host: string, scopes: readonly string[]): string {
  return `${host} ${[...new Set(scopes)].sort().join(' ')}`;
}
