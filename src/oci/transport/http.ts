// The HTTP transport under the registry client: it owns URLs and schemes, the undici agent,
// authentication, retries with backoff, redirects, timeouts, and the mapping of failures to
// ecrctl's error kinds. Callers describe a request (method, host, path, scopes, body).
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { processTuned } from '../memory.js';
import { Agent, type Dispatcher, EnvHttpProxyAgent } from 'undici';
import {
  AuthError,
  EcrctlError,
  HttpStatusError,
  InterruptedError,
  isEcrctlError,
  NotFoundError,
  RateLimitedError,
  UsageError,
} from '../../errors.js';
import { isLoopbackHost } from '../reference.js';
import { Authenticator, type TokenFetch } from './auth.js';
import type { RegistryCredentialProvider } from './credentials.js';
import {
  backoffDelay,
  DEFAULT_RETRY,
  errorCode,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from './retry.js';
import { type AuthChallenge, parseWwwAuthenticate } from './www-authenticate.js';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface TransportOptions {
  /** Where credentials come from; without one, requests are anonymous. */
  credentials?: RegistryCredentialProvider;
  /**
   * Hosts known to take HTTP Basic (private ECR registries): their first request carries the
   * credentials, instead of going out anonymously only to be answered 401.
   */
  basicAuthHosts?: (host: string) => boolean;
  /** Allows plain HTTP to any host (tried after HTTPS fails) and skips TLS verification. */
  insecure?: boolean;
  /** Speaks HTTPS to loopback hosts too (a local registry with TLS). Default: plain HTTP. */
  httpsLoopback?: boolean;
  /** A PEM file of extra CA certificates, trusted besides the default ones. */
  caFile?: string;
  userAgent?: string;
  retry?: Partial<RetryPolicy>;
  /** Time to wait for response headers (default: ECRCTL_HTTP_TIMEOUT_MS in env, else 60 s). */
  headersTimeoutMs?: number;
  /** Time a response body may stay idle (default: ECRCTL_HTTP_TIMEOUT_MS in env, else 60 s). */
  bodyTimeoutMs?: number;
  /** Connections kept per origin (default 8). */
  connectionsPerOrigin?: number;
  /** The environment: proxy variables and NODE_EXTRA_CA_CERTS are read from here. */
  env?: NodeJS.ProcessEnv;
  /** Receives one line per notable event (for --verbose); never given secrets. */
  log?: (message: string) => void;
  /** Called with every secret that passes through (passwords, tokens) for redaction. */
  onSecret?: (secret: string) => void;
  /** Random source for backoff jitter (tests make it deterministic). */
  random?: () => number;
}

export interface TransportRequest {
  method: HttpMethod;
  /** The registry, `host[:port]`. */
  host: string;
  /** A path with query (`/v2/app/tags/list?n=100`) or an absolute URL the registry gave us. */
  path: string;
  /** Bearer scopes this request needs, e.g. `repository:app:pull`. */
  scopes?: readonly string[];
  headers?: Record<string, string>;
  /** A Readable body is sent once: never retried, re-authenticated or redirected. */
  body?: Buffer | string | Readable;
  /** Retry on transient failures; default: true for GET, HEAD, PUT and DELETE with a replayable body. */
  retry?: boolean;
  /** Follow redirects (default for GET and HEAD). */
  followRedirects?: boolean;
  /** Statuses returned to the caller instead of thrown (2xx always are). */
  allow?: readonly number[];
  /** What the request is about, for messages: `manifest app:v1`. */
  what?: string;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** undici's body: a Readable with dump(), text(), json(). Always consume or dump it. */
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: URL;
  /** Returns one header's value (the first when repeated). */
  header(name: string): string | undefined;
}

/** One error of an OCI error body: `{"errors":[{"code","message","detail"}]}`. */
export interface OciError {
  code: string;
  message: string;
}

const IDEMPOTENT = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const ERROR_BODY_LIMIT = 64 * 1024;
const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Returns the OCI error codes and messages of an error body, or [] when it has none. */
export function parseOciErrors(text: string): OciError[] {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.flatMap((e: unknown) => {
      if (e === null || typeof e !== 'object') return [];
      const { code, message } = e as { code?: unknown; message?: unknown };
      return typeof code === 'string' ? [{ code, message: typeof message === 'string' ? message : '' }] : [];
    });
  } catch {
    return [];
  }
}

/**
 * Returns the whole body if it is at most limit bytes, or undefined after reading limit+1
 * bytes (the rest is never read: an endless body is cut off).
 */
export async function readLimited(body: Readable, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

function firstHeader(headers: TransportResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Returns the timeout ECRCTL_HTTP_TIMEOUT_MS sets (milliseconds a registry may take to send
 * response headers, and may leave a body idle), or undefined when it is not set.
 */
export function timeoutFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.ECRCTL_HTTP_TIMEOUT_MS;
  if (text === undefined || text === '') return undefined;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new UsageError(`ECRCTL_HTTP_TIMEOUT_MS must be a whole number of milliseconds, not ${JSON.stringify(text)}`, {
      rule: 'ECRCTL_HTTP_TIMEOUT_MS is a positive whole number (default 60000)',
      value: text,
      fix: 'set e.g. ECRCTL_HTTP_TIMEOUT_MS=120000, or unset it',
    });
  }
  return ms;
}

/** Returns the path and query of a URL without secrets a presigned URL may carry. */
function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Speaks HTTP to registries. One per client: it holds the connection pool and auth state. */
export class RegistryTransport {
  readonly #dispatcher: Dispatcher;
  readonly #auth: Authenticator;
  readonly #opts: TransportOptions;
  readonly #retry: RetryPolicy;
  readonly #random: () => number;
  readonly #schemes = new Map<string, 'http' | 'https'>();
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;
  readonly #userAgent: string;

  constructor(opts: TransportOptions = {}) {
    keepWasmCompilerSmall();
    this.#opts = opts;
    this.#retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.#random = opts.random ?? Math.random;
    const env = opts.env ?? {};
    const fromEnv = timeoutFromEnv(env);
    this.#headersTimeout = opts.headersTimeoutMs ?? fromEnv ?? DEFAULT_TIMEOUT_MS;
    this.#bodyTimeout = opts.bodyTimeoutMs ?? fromEnv ?? DEFAULT_TIMEOUT_MS;
    this.#userAgent = opts.userAgent ?? 'ecrctl';
    const connect: { rejectUnauthorized: boolean; ca?: string[] } = { rejectUnauthorized: !opts.insecure };
    if (opts.caFile) {
      // Passing `ca` replaces Node's default store, so the defaults and NODE_EXTRA_CA_CERTS
      // are added back explicitly.
      connect.ca = [...rootCertificates, readCaFile(opts.caFile)];
      if (env.NODE_EXTRA_CA_CERTS) connect.ca.push(readCaFile(env.NODE_EXTRA_CA_CERTS));
    }
    const agentOptions = {
      connections: opts.connectionsPerOrigin ?? 8,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      headersTimeout: this.#headersTimeout,
      bodyTimeout: this.#bodyTimeout,
      connect,
    };
    const httpProxy = env.HTTP_PROXY ?? env.http_proxy ?? '';
    const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy ?? '';
    this.#dispatcher =
      httpProxy || httpsProxy
        ? new EnvHttpProxyAgent({
            ...agentOptions,
            requestTls: connect,
            httpProxy,
            httpsProxy,
            noProxy: env.NO_PROXY ?? env.no_proxy ?? '',
          })
        : new Agent(agentOptions);
    this.#auth = new Authenticator({
      credentials: opts.credentials,
      presumeBasic: opts.basicAuthHosts,
      fetchToken: this.#fetchToken,
      onSecret: opts.onSecret,
      log: opts.log,
    });
  }

  /** Returns the auth state (tests read how many tokens were fetched). */
  get authenticator(): Authenticator {
    return this.#auth;
  }

  /** Returns the base URL used for host (`http://…` or `https://…`). */
  baseUrl(host: string): string {
    return `${this.#schemeFor(host)}://${host}`;
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  /**
   * Sends a request: authenticates on challenge, retries transient failures, follows
   * redirects; returns 2xx (and allowed) responses and throws typed errors for the rest.
   */
  async request(req: TransportRequest): Promise<TransportResponse> {
    const streamBody = req.body instanceof Readable;
    const canRetry = !streamBody && (req.retry ?? IDEMPOTENT.has(req.method));
    const started = Date.now();
    for (let retry = 0; ; retry++) {
      if (req.signal?.aborted) throw new InterruptedError();
      let res: TransportResponse & { sentAuth: boolean };
      try {
        res = await this.#authorized(req, streamBody);
      } catch (err) {
        if (req.signal?.aborted) throw new InterruptedError();
        if (isEcrctlError(err)) throw err;
        if (canRetry && isRetryableNetworkError(err)) {
          const wait = backoffDelay(retry, this.#retry, this.#random);
          if (retry < this.#retry.maxRetries && Date.now() - started + wait <= this.#retry.maxTotalMs) {
            this.#opts.log?.(
              `retry ${retry + 1}/${this.#retry.maxRetries} of ${req.method} ${req.host} in ${wait} ms after ${errorCode(err)}`,
            );
            await sleep(wait, req.signal);
            continue;
          }
        }
        throw this.#networkError(req, err);
      }
      const allowed = req.allow?.includes(res.status) === true;
      if (!allowed && isRetryableStatus(res.status) && canRetry && retry < this.#retry.maxRetries) {
        const asked = parseRetryAfter(res.header('retry-after'), Date.now());
        const wait = asked ?? backoffDelay(retry, this.#retry, this.#random);
        if (Date.now() - started + wait <= this.#retry.maxTotalMs) {
          await res.body.dump().catch(() => {});
          this.#opts.log?.(
            `retry ${retry + 1}/${this.#retry.maxRetries} of ${req.method} ${req.host} in ${wait} ms after ${res.status}${asked === undefined ? '' : ' (Retry-After)'}`,
          );
          await sleep(wait, req.signal);
          continue;
        }
      }
      if ((res.status >= 200 && res.status <= 299) || allowed) return res;
      if (req.followRedirects === false && res.status >= 300 && res.status <= 399) return res;
      throw await this.#statusError(req, res);
    }
  }

  async #authorized(req: TransportRequest, streamBody: boolean): Promise<TransportResponse & { sentAuth: boolean }> {
    let scopes = req.scopes ?? [];
    let auth = await this.#auth.header(req.host, scopes, req.signal);
    let refreshed = false;
    for (;;) {
      const res = await this.#follow(req, auth);
      if (res.status !== 401 || streamBody) return { ...res, sentAuth: auth !== undefined };
      const challenges = this.#challenges(res);
      let next: string | undefined;
      if (auth === undefined) {
        if (!this.#auth.challenge(req.host, challenges)) return { ...res, sentAuth: false };
        scopes = withChallengeScopes(scopes, challenges);
        next = await this.#auth.header(req.host, scopes, req.signal);
      } else {
        // A credential or token we sent was refused: refresh it once (ECR tokens expire).
        if (refreshed) return { ...res, sentAuth: true };
        refreshed = true;
        this.#auth.challenge(req.host, challenges);
        scopes = withChallengeScopes(scopes, challenges);
        this.#auth.invalidate(req.host, scopes);
        this.#opts.log?.(`${req.host} refused our credentials; refreshing them once`);
        next = await this.#auth.header(req.host, scopes, req.signal);
      }
      if (next === undefined) return { ...res, sentAuth: auth !== undefined };
      await res.body.dump().catch(() => {});
      auth = next;
    }
  }

  #challenges(res: TransportResponse): AuthChallenge[] {
    const raw = res.headers['www-authenticate'];
    const header = Array.isArray(raw) ? raw.join(', ') : raw;
    if (header === undefined) return [];
    try {
      return parseWwwAuthenticate(header);
    } catch (err) {
      this.#opts.log?.(`ignoring ${(err as Error).message}`);
      return [];
    }
  }

  async #follow(req: TransportRequest, auth: string | undefined): Promise<TransportResponse> {
    const registry = new URL(this.baseUrl(req.host));
    let url = /^https?:\/\//i.test(req.path) ? new URL(req.path) : new URL(req.path, registry);
    const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
    const seen = new Set([url.href]);
    for (let hops = 0; ; hops++) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
      // Credentials go to the registry itself only, never to a host it redirects to.
      if (auth !== undefined && url.host === registry.host) headers.authorization = auth;
      const res = await this.#send(req, url, headers);
      if (!follow || !REDIRECTS.has(res.status)) return res;
      const location = res.header('location');
      if (location === undefined) return res;
      await res.body.dump().catch(() => {});
      const next = new URL(location, url);
      if (seen.has(next.href)) {
        throw new EcrctlError(`${req.host} redirected in a loop: ${describeUrl(next)} was visited before`, {
          value: describeUrl(next),
          fix: 'the registry or its storage is misconfigured; report it to its operator',
        });
      }
      if (hops + 1 > MAX_REDIRECTS) {
        throw new EcrctlError(`${req.host} redirected more than ${MAX_REDIRECTS} times (last: ${describeUrl(next)})`);
      }
      this.#opts.log?.(`${req.method} redirected to ${describeUrl(next)}`);
      seen.add(next.href);
      url = next;
    }
  }

  async #send(req: TransportRequest, url: URL, headers: Record<string, string>): Promise<TransportResponse> {
    const send = async (target: URL): Promise<TransportResponse> => {
      const res = await this.#dispatcher.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers,
        body: req.body,
        signal: req.signal,
        headersTimeout: this.#headersTimeout,
        bodyTimeout: this.#bodyTimeout,
        // undici closes the connection after every HEAD unless told otherwise (in case a
        // server sends a body anyway). Registries answer HEAD properly, and a new connection
        // per HEAD cost a TCP (and, for ECR, a TLS) handshake per blob checked.
        ...(req.method === 'HEAD' ? { reset: false } : {}),
      });
      const resHeaders = res.headers as TransportResponse['headers'];
      return {
        status: res.statusCode,
        headers: resHeaders,
        body: res.body,
        url: target,
        header: (name) => firstHeader(resHeaders, name),
      };
    };
    try {
      return await send(url);
    } catch (err) {
      // --insecure: a registry that speaks plain HTTP fails the TLS handshake; remember
      // that and speak HTTP to it from now on (what Docker does for insecure registries).
      const code = errorCode(err) ?? '';
      const isTlsMismatch = code.startsWith('ERR_SSL_') || code === 'EPROTO' || code === 'ECONNRESET';
      if (
        this.#opts.insecure &&
        url.protocol === 'https:' &&
        url.host === req.host &&
        !this.#schemes.has(req.host) &&
        isTlsMismatch &&
        !(req.body instanceof Readable)
      ) {
        this.#schemes.set(req.host, 'http');
        this.#opts.log?.(`${req.host} does not speak TLS; using plain HTTP (--insecure)`);
        const plain = new URL(url);
        plain.protocol = 'http:';
        return await send(plain);
      }
      throw err;
    }
  }

  #schemeFor(host: string): 'http' | 'https' {
    const known = this.#schemes.get(host);
    if (known) return known;
    return isLoopbackHost(host) && !this.#opts.httpsLoopback ? 'http' : 'https';
  }

  readonly #fetchToken: TokenFetch = async (req) => {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#dispatcher.request({
        origin: req.url.origin,
        path: `${req.url.pathname}${req.url.search}`,
        method: req.method,
        headers: { 'user-agent': this.#userAgent, ...req.headers },
        body: req.body,
        signal: req.signal,
        headersTimeout: this.#headersTimeout,
        bodyTimeout: this.#bodyTimeout,
      });
    } catch (err) {
      if (req.signal?.aborted) throw new InterruptedError();
      throw new EcrctlError(`cannot reach the token server ${req.url.origin}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const buf = await readLimited(res.body, 1024 * 1024);
    return { status: res.statusCode, text: buf === undefined ? '' : buf.toString('utf8') };
  };

  async #statusError(req: TransportRequest, res: TransportResponse & { sentAuth: boolean }): Promise<Error> {
    let text = '';
    if (req.method !== 'HEAD') {
      try {
        const buf = await readLimited(res.body, ERROR_BODY_LIMIT);
        text = buf?.toString('utf8') ?? '';
      } catch {
        // The error body is only for the message; a broken one changes nothing.
      }
    } else await res.body.dump().catch(() => {});
    const errors = parseOciErrors(text);
    const detail =
      errors.length > 0
        ? ` (${errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ')})`
        : text.trim() !== '' && text.length < 300 && !text.includes('<')
          ? ` (${text.trim()})`
          : '';
    const what = req.what ?? `${req.method} ${describeUrl(res.url)}`;
    const codes = errors.map((e) => e.code).join(',') || undefined;
    switch (res.status) {
      case 401:
        return new AuthError(
          res.sentAuth
            ? `${req.host} refused the credentials for ${what}${detail}`
            : `${req.host} requires authentication for ${what}${detail}`,
          { value: req.host, fix: `run \`ecrctl login\` (or \`docker login ${req.host}\`), then try again` },
        );
      case 403:
        return new AuthError(`${req.host} denied access to ${what}${detail}`, {
          value: req.host,
          fix: 'check that these credentials may do this on the repository (IAM policy, repository policy), or log in as someone who may',
        });
      case 404: {
        // ECR answers 404 for an archived image: say how to get it back.
        const archived = errors.some((e) => /archived/i.test(e.message ?? ''))
          ? /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(res.url.pathname)
          : null;
        return new NotFoundError(`${what}: not found on ${req.host}${detail}`, {
          value: codes,
          ...(archived
            ? {
                fix: `restore it with \`ecrctl restore ${req.host}/${archived[1]}${archived[2]?.includes(':') ? '@' : ':'}${archived[2]}\`, then pull again`,
              }
            : {}),
        });
      }
      case 429:
        return new RateLimitedError(`${req.host} kept answering 429 Too Many Requests for ${what}${detail}`, {
          value: req.host,
          fix: 'wait a while and try again; authenticated requests usually get higher limits',
        });
      default:
        return new HttpStatusError(`${what}: ${req.host} answered ${res.status}${detail}`, res.status, {
          value: codes,
        });
    }
  }

  #networkError(req: TransportRequest, err: unknown): EcrctlError {
    const code = errorCode(err) ?? '';
    const message = err instanceof Error ? err.message : String(err);
    if (TLS_VERIFY_CODES.has(code)) {
      return new EcrctlError(`cannot verify the TLS certificate of ${req.host}: ${message}`, {
        value: req.host,
        fix: 'trust its CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem, or use --insecure for a registry you trust',
        cause: err,
      });
    }
    if (code === 'ECONNREFUSED') {
      return new EcrctlError(`cannot connect to ${req.host}: connection refused`, {
        value: req.host,
        fix: 'check the host and port, and that the registry is running',
        cause: err,
      });
    }
    if (code === 'ENOTFOUND') {
      return new EcrctlError(`cannot resolve ${req.host}`, { value: req.host, fix: 'check the host name', cause: err });
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new EcrctlError(`${req.host} stopped answering ${req.what ?? req.method} (timed out)`, {
        value: req.host,
        fix: 'try again; on a slow link raise the timeout',
        cause: err,
      });
    }
    return new EcrctlError(
      `${req.method} ${req.what ?? req.path} on ${req.host} failed: ${message}${code ? ` (${code})` : ''}`,
      {
        value: req.host,
        cause: err,
      },
    );
  }
}

let wasmFlagsSet = false;

/**
 * Tells V8 to keep WebAssembly in its baseline compiler. undici parses HTTP with llhttp
 * compiled to wasm, and V8's optimising tier-up of that one module briefly takes ~35 MB,
 * a third of ecrctl's peak memory; the baseline code parses headers just as well for us
 * (bodies are counted, not scanned). Only when the binary asked for tuning (tuneProcess).
 */
function keepWasmCompilerSmall(): void {
  if (wasmFlagsSet || !processTuned()) return;
  wasmFlagsSet = true;
  setFlagsFromString('--liftoff-only');
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EcrctlError(`cannot read the CA file ${file}`, { value: file, cause });
  }
}

function withChallengeScopes(scopes: readonly string[], challenges: readonly AuthChallenge[]): readonly string[] {
  const asked = challenges.find((c) => c.scheme === 'bearer')?.params.scope;
  if (!asked) return scopes;
  // Add only what our scopes do not cover already (`pull,push` covers `pull`), so that
  // one token serves the request and the cache keys stay few.
  const split = (s: string) => {
    const colon = s.lastIndexOf(':');
    return { resource: s.slice(0, colon), actions: s.slice(colon + 1).split(',') };
  };
  const ours = scopes.map(split);
  const missing = asked
    .split(' ')
    .filter((s) => s !== '')
    .filter((s) => {
      const a = split(s);
      return !ours.some((o) => o.resource === a.resource && a.actions.every((x) => o.actions.includes(x)));
    });
  return missing.length === 0 ? scopes : [...scopes, ...missing];
}
